{{- define "common.label" -}}
owner: umbrella
{{- end -}}
