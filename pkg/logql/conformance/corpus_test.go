package conformance

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// corpusCase is one query of a corpus file with the answer written by hand.
type corpusCase struct {
	name string // file:line
	req  request
	want string // render() form
}

// readCorpus reads testdata/corpus/*.txt. A case is a block of directives
// followed by "want:" and the expected answer up to the next empty line:
//
//	query: sum(count_over_time({app="api"}[30s]))
//	range: 0 60 30          # start end [step], seconds after t0
//	at: 60                  # instead of range: an instant query
//	limit: 10
//	direction: forward
//	tenant: levels
//	categorize: true        # X-Loki-Response-Encoding-Flags: categorize-labels
//	param: step=0           # a raw URL parameter, sent as written
//	want:
//	matrix
//	{} 0:1 30:3 60:6
//
// Lines starting with # outside a want block are comments.
func readCorpus(t testing.TB) []corpusCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	var out []corpusCase
	for _, f := range files {
		cs, err := parseCorpusFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cs...)
	}
	return out
}

func parseCorpusFile(path string) ([]corpusCase, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var (
		out    []corpusCase
		cur    *corpusCase
		inWant bool
		want   []string
		lineNo int
	)
	base := filepath.Base(path)
	finish := func() {
		if cur != nil {
			cur.want = strings.Join(want, "\n") + "\n"
			out = append(out, *cur)
		}
		cur, inWant, want = nil, false, nil
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if inWant {
			if line == "" {
				finish()
				continue
			}
			want = append(want, line)
			continue
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want a directive, got %q", base, lineNo, line)
		}
		val = strings.TrimSpace(val)
		if key == "query" {
			if cur != nil {
				return nil, fmt.Errorf("%s:%d: query without want", base, lineNo)
			}
			cur = &corpusCase{name: fmt.Sprintf("%s:%d", base, lineNo), req: request{query: val}}
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("%s:%d: %s before query", base, lineNo, key)
		}
		if err := cur.set(key, val); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", base, lineNo, err)
		}
		if key == "want" {
			inWant = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if inWant {
		finish()
	} else if cur != nil {
		return nil, fmt.Errorf("%s: last case has no want", base)
	}
	return out, nil
}

func (c *corpusCase) set(key, val string) error {
	r := &c.req
	var err error
	switch key {
	case "range":
		f := strings.Fields(val)
		if len(f) < 2 || len(f) > 3 {
			return fmt.Errorf("range: start end [step]")
		}
		if r.start, err = strconv.ParseFloat(f[0], 64); err != nil {
			return err
		}
		if r.end, err = strconv.ParseFloat(f[1], 64); err != nil {
			return err
		}
		if len(f) == 3 {
			r.step = f[2]
		}
	case "at":
		r.instant = true
		r.at, err = strconv.ParseFloat(val, 64)
	case "limit":
		r.limit, err = strconv.Atoi(val)
	case "direction":
		r.direction = val
	case "tenant":
		r.tenant = val
	case "categorize":
		r.categorize = val == "true"
	case "path":
		r.path = val
	case "param":
		k, v, ok := strings.Cut(val, "=")
		if !ok {
			return fmt.Errorf("param: key=value")
		}
		if r.params == nil {
			r.params = url.Values{}
		}
		r.params.Add(k, v)
	case "want":
		if val != "" {
			return fmt.Errorf("want: the answer starts on the next line")
		}
	default:
		return fmt.Errorf("unknown directive %q", key)
	}
	return err
}

// TestCorpus runs every hand-written case of testdata/corpus.
func TestCorpus(t *testing.T) {
	s := getStack(t)
	for _, c := range readCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			got := render(s.run(t, c.req))
			if got != c.want {
				t.Errorf("%s\nquery: %s\n--- want\n%s--- got\n%s", c.name, c.req.query, c.want, got)
			}
		})
	}
}

// TestCorpusSize keeps the corpus at the size issue 6 asks for.
func TestCorpusSize(t *testing.T) {
	hand := len(readCorpus(t))
	ref := len(referenceCases(t))
	t.Logf("%d hand-written cases, %d reference-computed cases", hand, ref)
	if hand+ref < 300 {
		t.Errorf("corpus has %d queries, want at least 300", hand+ref)
	}
}
