"""The toolbox image every operator pod runs: facts shared by every side that starts one."""

from __future__ import annotations

from airflow_provider_garden import __version__

# docker/toolbox/Dockerfile creates this unprivileged user (and group); pods run as it.
TOOLBOX_UID = 10001
# The image's local name; `[garden] toolbox_image` overrides it for Airflow tasks.
TOOLBOX_IMAGE = f"localhost/garden/toolbox:{__version__}"
