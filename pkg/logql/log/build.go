package log

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// ErrUnsupported marks a pipeline stage this version cannot run. Every
// stage of LogQL is supported; it remains for forward compatibility with
// syntax nodes this package does not know.
var ErrUnsupported = errors.New("unsupported")

// NewPipeline compiles the pipeline of a log selector. hash gives the
// identity of a stream's labels. Errors for stages that cannot be built
// (bad templates, JSON paths, patterns) are syntax.ParseErrors with Loki's
// text.
func NewPipeline(e syntax.LogSelectorExpr, hash func(labels.Labels) uint64) (Pipeline, error) {
	p := &pipeline{hash: hash}
	var head []Filterer
	leading := true
	for _, st := range e.Stages() {
		if lf, ok := st.(*syntax.LineFilterExpr); ok && leading {
			f, err := NewLineFilter(lf)
			if err != nil {
				return nil, syntax.NewStageError(st, err)
			}
			head = append(head, f)
			continue
		}
		leading = false
		m, err := newStage(st)
		if err != nil {
			if errors.Is(err, syntax.ErrParse) || errors.Is(err, ErrUnsupported) {
				return nil, err
			}
			return nil, syntax.NewStageError(st, err)
		}
		p.stages = append(p.stages, m)
	}
	if len(head) > 0 {
		p.head = NewAndFilter(head...)
	}
	return p, nil
}

// shared returns a maker of a stage without per-stream state.
func shared(s stage) stageMaker { return func() stage { return s } }

// newStage compiles one stage other than a leading line filter.
func newStage(st syntax.StageExpr) (stageMaker, error) {
	switch st := st.(type) {
	case *syntax.LineFilterExpr:
		f, err := NewLineFilter(st)
		if err != nil {
			return nil, err
		}
		return shared(filterStage{f: f}), nil
	case *syntax.LabelFilterExpr:
		f, err := newLabelFilter(st.Filter)
		if err != nil {
			return nil, err
		}
		return shared(labelFilterStage{f: f}), nil
	case *syntax.JSONParserExpr:
		if len(st.Params) == 0 {
			return newJSONParser, nil
		}
		ids := make([]string, len(st.Params))
		paths := make([][]jsonPathElem, len(st.Params))
		for i, p := range st.Params {
			path, err := parseJSONPath(p.Expression)
			if err != nil {
				return nil, err
			}
			ids[i], paths[i] = p.Name, path
		}
		return newJSONExprParser(ids, paths), nil
	case *syntax.LogfmtParserExpr:
		if len(st.Params) == 0 {
			return newLogfmtParser(st.Strict, st.KeepEmpty), nil
		}
		ids := make([]string, len(st.Params))
		keys := make([]string, len(st.Params))
		for i, p := range st.Params {
			key := strings.Trim(p.Expression, " \t\n")
			switch {
			case key == "":
				return nil, fmt.Errorf("cannot parse expression [%s]: syntax error: unexpected $end", p.Expression)
			case !isLegacyName(key):
				return nil, fmt.Errorf("cannot parse expression [%s]: unexpected char %c", p.Expression, firstBadLogfmtRune(key))
			}
			ids[i], keys[i] = p.Name, key
		}
		return newLogfmtExprParser(ids, keys, st.Strict), nil
	case *syntax.RegexpParserExpr:
		re, err := regexp.Compile(st.Regexp)
		if err != nil {
			return nil, err
		}
		return newRegexpParser(re), nil
	case *syntax.PatternParserExpr:
		m, err := newPatternMatcher(st.Pattern)
		if err != nil {
			return nil, err
		}
		return newPatternParser(m), nil
	case *syntax.UnpackParserExpr:
		return newUnpackParser, nil
	case *syntax.DecolorizeExpr:
		return newDecolorizer(regexp.MustCompile(ansiPattern)), nil
	case *syntax.LineFmtExpr:
		c, err := compileTemplate("line", st.Template)
		if err != nil {
			return nil, fmt.Errorf("invalid line template: %w", err)
		}
		return newLineFormatter(c), nil
	case *syntax.LabelFmtExpr:
		tmpls := make([]*compiledTemplate, len(st.Formats))
		for i, f := range st.Formats {
			if f.Rename {
				continue
			}
			c, err := compileTemplate("label", f.Value)
			if err != nil {
				return nil, fmt.Errorf("invalid template for label '%s': %s", f.Name, err)
			}
			tmpls[i] = c
		}
		return newLabelsFormatter(st.Formats, tmpls), nil
	case *syntax.DropLabelsExpr:
		return shared(dropLabels{ms: st.Labels}), nil
	case *syntax.KeepLabelsExpr:
		return newKeepLabels(st.Labels), nil
	}
	return nil, fmt.Errorf("%w: pipeline stage %q", ErrUnsupported, st.String())
}

// firstBadLogfmtRune returns the first rune of a logfmt parameter that is
// not part of a key.
func firstBadLogfmtRune(s string) rune {
	for i, r := range s {
		if !(r == '_' || r < 0x80 && ('a' <= r|0x20 && r|0x20 <= 'z' || i > 0 && '0' <= r && r <= '9')) {
			return r
		}
	}
	return 0
}

// NewLineFilter compiles one line filter stage: a positive operator keeps a
// line when any alternative matches, a negated one when none does.
func NewLineFilter(e *syntax.LineFilterExpr) (Filterer, error) {
	alts := make([]Filterer, 0, len(e.Values))
	for _, v := range e.Values {
		var (
			f   Filterer
			err error
		)
		switch {
		case v.IP:
			f, err = NewIPFilter(v.Value)
		case e.Op == syntax.LineMatchEqual || e.Op == syntax.LineMatchNotEqual:
			f = NewContainsFilter(v.Value)
		case e.Op == syntax.LineMatchRegexp || e.Op == syntax.LineMatchNotRegexp:
			f, err = NewRegexpFilter(v.Value)
		default:
			f, err = NewPatternFilter(v.Value)
		}
		if err != nil {
			return nil, err
		}
		alts = append(alts, f)
	}
	f := NewOrFilter(alts...)
	if e.Op.Negated() {
		f = NewNotFilter(f)
	}
	return f, nil
}
