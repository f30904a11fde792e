{{/* Name prefix of every object: the release name, with "plinth" unless it already says so. */}}
{{- define "plinth.fullname" -}}
{{- if contains "plinth" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-plinth" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "plinth.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: plinth
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: plinth
{{- end -}}

{{/* Selector labels of a component: (dict "ctx" $ "component" "controller"). */}}
{{- define "plinth.selectorLabels" -}}
app.kubernetes.io/name: plinth
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* An image reference: (dict "ctx" $ "name" "plinth-node"). */}}
{{- define "plinth.image" -}}
{{- printf "%s/%s:%s" .ctx.Values.image.registry .name (.ctx.Values.image.tag | default .ctx.Chart.AppVersion) -}}
{{- end -}}

{{/* Name of a component's ServiceAccount. */}}
{{- define "plinth.serviceAccount" -}}
{{- printf "%s-%s" (include "plinth.fullname" .ctx) .component -}}
{{- end -}}

{{/* The controllers of plinth-controller: flag name -> enabled. */}}
{{- define "plinth.controllers" -}}
{{- $c := .Values.controller.controllers -}}
node-ipam: {{ $c.nodeIpam }}
node-picker: {{ $c.nodePicker }}
node-gone: {{ $c.nodeGone }}
node-label: {{ $c.nodeLabel }}
snapshot-controller: {{ $c.snapshotController }}
snapshotschedule: {{ $c.snapshotSchedule }}
{{- end -}}

{{/* Whether the snapshot API is (or will be) there: the chart installs its CRDs or the cluster has them. */}}
{{- define "plinth.snapshotAPI" -}}
{{- if or .Values.crds.snapshot (.Capabilities.APIVersions.Has "snapshot.storage.k8s.io/v1/VolumeSnapshotClass") -}}true{{- end -}}
{{- end -}}

{{/* Image pull secrets of a pod spec. */}}
{{- define "plinth.pullSecrets" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Rules of a generated role set: the YAML documents of files/rbac/<name>.yaml,
written by `make manifests` from the code's +kubebuilder:rbac markers.
(dict "ctx" $ "name" "plinth-node" "kind" "ClusterRole") returns the rules of
the document of that kind, or nothing.
*/}}
{{- define "plinth.generatedRules" -}}
{{- $kind := .kind -}}
{{- range $doc := splitList "\n---\n" (.ctx.Files.Get (printf "files/rbac/%s.yaml" .name)) -}}
{{- $obj := fromYaml $doc -}}
{{- if and $obj (eq (get $obj "kind") $kind) -}}
{{- toYaml (get $obj "rules") -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Roles and bindings of one generated role set, bound to a ServiceAccount:
(dict "ctx" $ "name" "plinth-node" "serviceAccount" "plinth-node" "annotations" (dict)).
A ClusterRole for the cluster-wide rules, a Role in the release namespace for
the namespaced ones (the markers say plinth-system; the chart's namespace is
meant).
*/}}
{{- define "plinth.roleSet" -}}
{{- $ctx := .ctx -}}
{{- $objName := printf "%s%s" (include "plinth.fullname" $ctx) (trimPrefix "plinth" .name) -}}
{{- range $kind := list "ClusterRole" "Role" }}
{{- $rules := include "plinth.generatedRules" (dict "ctx" $ctx "name" $.name "kind" $kind) }}
{{- if $rules }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ $kind }}
metadata:
  name: {{ $objName }}
  {{- if eq $kind "Role" }}
  namespace: {{ $ctx.Release.Namespace }}
  {{- end }}
  labels:
    {{- include "plinth.labels" $ctx | nindent 4 }}
  {{- with $.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
rules:
{{ $rules }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ $kind }}Binding
metadata:
  name: {{ $objName }}
  {{- if eq $kind "Role" }}
  namespace: {{ $ctx.Release.Namespace }}
  {{- end }}
  labels:
    {{- include "plinth.labels" $ctx | nindent 4 }}
  {{- with $.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ $kind }}
  name: {{ $objName }}
subjects:
  - kind: ServiceAccount
    name: {{ $.serviceAccount }}
    namespace: {{ $ctx.Release.Namespace }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Tolerations of the pods that must run before the pod network does: the
taints a node carries until its network plugin is ready.
*/}}
{{- define "plinth.networkBootstrapTolerations" -}}
- key: node.kubernetes.io/not-ready
  operator: Exists
  effect: NoSchedule
- key: node.kubernetes.io/network-unavailable
  operator: Exists
  effect: NoSchedule
{{- end }}
