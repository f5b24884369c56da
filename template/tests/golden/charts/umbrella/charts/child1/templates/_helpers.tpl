{{- define "child1.name" -}}
{{ .Chart.Name }}-{{ .Values.image.repo }}
{{- end -}}
{{- define "common.label" -}}
owner: child1
{{- end -}}
