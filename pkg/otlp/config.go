package otlp

// DefaultIndexLabelAttributes are the resource attributes Loki stores as
// stream labels by default (distributor.otlp.default_resource_attributes_as_index_labels).
var DefaultIndexLabelAttributes = []string{
	"service.name",
	"service.namespace",
	"service.instance.id",
	"deployment.environment",
	"deployment.environment.name",
	"cloud.region",
	"cloud.availability_zone",
	"k8s.cluster.name",
	"k8s.namespace.name",
	"k8s.pod.name",
	"k8s.container.name",
	"container.name",
	"k8s.replicaset.name",
	"k8s.deployment.name",
	"k8s.statefulset.name",
	"k8s.daemonset.name",
	"k8s.cronjob.name",
	"k8s.job.name",
}

// Config is the OTLP mapping shared by every tenant (Loki's
// distributor.otlp_config).
type Config struct {
	// IndexLabelAttributes are the resource attributes that become stream
	// labels (names compared exactly, before sanitising). Every other
	// attribute becomes structured metadata.
	IndexLabelAttributes []string `yaml:"default_resource_attributes_as_index_labels"`
}

// DefaultConfig returns Loki's defaults.
func DefaultConfig() Config {
	return Config{IndexLabelAttributes: append([]string(nil), DefaultIndexLabelAttributes...)}
}
