{{/*
Expand the name of the chart.
*/}}
{{- define "garden.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A default fully qualified name (the helm test pod's). Truncated at 63 characters
because some Kubernetes name fields are limited to this (by the DNS naming spec).
*/}}
{{- define "garden.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version as used by the chart label.
*/}}
{{- define "garden.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "garden.labels" -}}
helm.sh/chart: {{ include "garden.chart" . }}
app.kubernetes.io/name: {{ include "garden.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The toolbox image.
*/}}
{{- define "garden.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The operator accounts: files/accounts.yaml, generated from the provider's
kube/rbac.py (`python -m airflow_provider_garden.cli.packaging chart-sync`).
*/}}
{{- define "garden.accounts" -}}
{{- (.Files.Get "files/accounts.yaml" | fromYaml).accounts | toJson }}
{{- end }}

{{/*
Name of an account's ClusterRole (and ClusterRoleBinding): "<namespace>:<account>",
as `garden install` names them, so both install the same objects.
*/}}
{{- define "garden.roleName" -}}
{{- printf "%s:%s" .namespace .account }}
{{- end }}
