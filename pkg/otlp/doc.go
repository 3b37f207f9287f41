// Package otlp turns OTLP/HTTP log exports (an ExportLogsServiceRequest, as
// the OpenTelemetry Collector's otlphttp exporter and Grafana Alloy send to
// Loki's /otlp/v1/logs) into Skald push requests, the way Loki maps them:
//
//   - The resource attributes named in Config.IndexLabelAttributes (Loki's
//     default list: service.name, k8s.pod.name, ...) become stream labels,
//     their names sanitised (service.name → service_name). service_name is
//     discovered from the other index labels when service.name is missing,
//     else it is unknown_service.
//   - Every other resource attribute, every scope attribute, the scope's
//     name, version and dropped_attributes_count, every log attribute and
//     the record's observed_timestamp, severity_number, severity_text,
//     dropped_attributes_count, flags, trace_id, span_id and event_name
//     become structured metadata. Nested map values are flattened with "_"
//     between the keys; other values are written as OTLP's AsString does
//     (arrays and maps as JSON, bytes as base64).
//   - The line is the body as a string; the timestamp is time_unix_nano,
//     else observed_time_unix_nano, else the time of the request.
//
// It is the only package that imports the OpenTelemetry Collector's pdata.
// Bodies are decoded in protobuf (application/x-protobuf) or JSON
// (application/json), after undoing a Content-Encoding of gzip, zstd or lz4.
package otlp
