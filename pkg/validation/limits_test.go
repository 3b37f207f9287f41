package validation

import (
	"flag"
	"testing"
	"time"
)

func TestDefaultsAreLokis(t *testing.T) {
	var l Limits
	l.RegisterFlags(flag.NewFlagSet("", flag.PanicOnError))
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, ok := range map[string]bool{
		"max label names 15":        l.MaxLabelNamesPerSeries == 15,
		"label name 1024":           l.MaxLabelNameLength == 1024,
		"label value 2048":          l.MaxLabelValueLength == 2048,
		"line 256KiB":               l.MaxLineSize == 256<<10,
		"reject old 7d":             l.RejectOldSamples && time.Duration(l.RejectOldSamplesMaxAge) == 7*24*time.Hour,
		"grace 10m":                 time.Duration(l.CreationGracePeriod) == 10*time.Minute,
		"rate 4/6 MB":               l.IngestionRateMB == 4 && l.IngestionBurstSizeMB == 6,
		"streams 5000":              l.MaxGlobalStreamsPerUser == 5000,
		"entries 5000":              l.MaxEntriesLimitPerQuery == 5000,
		"query length 721h":         time.Duration(l.MaxQueryLength) == 721*time.Hour,
		"series 500":                l.MaxQuerySeries == 500,
		"timeout 1m":                time.Duration(l.QueryTimeout) == time.Minute,
		"structured metadata 64KiB": l.MaxStructuredMetadataSize == 64<<10 && l.MaxStructuredMetadataEntries == 128,
	} {
		if !ok {
			t.Errorf("default %s not as Loki's", name)
		}
	}
}

func TestOverrides(t *testing.T) {
	var def Limits
	def.RegisterFlags(flag.NewFlagSet("", flag.PanicOnError))
	big := def
	big.IngestionRateMB = 100
	o := NewOverrides(def, map[string]*Limits{"big": &big})
	if o.For("big").IngestionRateMB != 100 || o.For("small").IngestionRateMB != 4 {
		t.Errorf("overrides not resolved per tenant")
	}
	bad := def
	bad.IngestionRateMB = 0
	if bad.Validate() == nil {
		t.Error("zero ingestion rate accepted")
	}
}
