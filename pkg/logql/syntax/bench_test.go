package syntax

import "testing"

// exploreQuery is what Grafana Explore sends for a typical log search.
const exploreQuery = `{namespace="prod", app=~"api|web", container!="istio-proxy"} |= "error" != "healthcheck" ` +
	`| json | level=~"error|fatal" and status >= 500 | line_format "{{.method}} {{.path}} {{.status}}"`

// metricQuery is a dashboard panel query.
const metricQuery = `sum by (app, status) (rate({namespace="prod", app=~"api|web"} |= "request" | logfmt ` +
	`| duration > 250ms | __error__="" [5m])) / on (app) group_left sum by (app) (rate({namespace="prod"} [5m])) * 100`

func benchmarkParse(b *testing.B, query string) {
	b.ReportAllocs()
	b.SetBytes(int64(len(query)))
	for b.Loop() {
		if _, err := ParseExpr(query); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseExploreQuery(b *testing.B) { benchmarkParse(b, exploreQuery) }

func BenchmarkParseMetricQuery(b *testing.B) { benchmarkParse(b, metricQuery) }

func BenchmarkParseMatchers(b *testing.B) {
	const s = `{cpu="10",endpoint="https",instance="10.253.57.87:9100",job="node-exporter",mode="idle",namespace="observability",pod="node-exporter-l454v",service="node-exporter"}`
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if _, err := ParseMatchers(s, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	expr, err := ParseExpr(metricQuery)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = expr.String()
	}
}
