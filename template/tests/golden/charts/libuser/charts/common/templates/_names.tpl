{{- define "common.fullname" -}}
{{ .Release.Name }}-{{ .Values.name | default .Chart.Name }}
{{- end -}}
