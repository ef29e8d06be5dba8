"""Operator pods run as the toolbox image's own unprivileged user."""

from __future__ import annotations

import re

from airflow_provider_garden.core.toolbox import TOOLBOX_UID
from airflow_provider_garden.localseed.images import docker_dir
from airflow_provider_garden.operators.selfcheck import ToolboxCheckOperator


def test_pods_run_as_the_user_the_toolbox_image_declares() -> None:
    dockerfile = (docker_dir() / "toolbox" / "Dockerfile").read_text()
    assert re.findall(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE) == [
        (str(TOOLBOX_UID), str(TOOLBOX_UID))
    ]
    context = ToolboxCheckOperator(task_id="t").security_context
    assert context.run_as_non_root is True
    assert (context.run_as_user, context.run_as_group) == (TOOLBOX_UID, TOOLBOX_UID)
    # the 0400 Secret volumes become readable to the pod's group
    assert context.fs_group == TOOLBOX_UID
