package log

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"
)

// A line_format or label_format template runs once per entry, inside the
// pipeline, where neither the query timeout nor a client that went away can
// stop it; and text/template would loop over any number ({{range N}}), call
// templates that call each other without end, and build strings of any size
// (repeat, replace of "", escapers chained). Each execution therefore has a
// budget of steps (range iterations and template calls) and every string it
// builds, its output included, is bounded. A template that goes beyond
// fails like any failing template: the line is kept with
// __error__=TemplateFormatErr.
const (
	// maxTemplateSteps bounds the range iterations and the calls of
	// defined templates of one execution.
	maxTemplateSteps = 1 << 12
	// maxTemplateString bounds the output of one execution and every
	// string a template function returns.
	maxTemplateString = 1 << 20
	// maxTemplateArgs bounds the arguments of print, printf, println and
	// the escapers, whose output is about their sum.
	maxTemplateArgs = 64
)

var (
	errTemplateSteps  = fmt.Errorf("template exceeds %d steps (range iterations and template calls)", maxTemplateSteps)
	errTemplateString = fmt.Errorf("template string exceeds %d bytes", maxTemplateString)
	errTemplateArgs   = fmt.Errorf("template function call exceeds %d arguments", maxTemplateArgs)
)

// Names of the functions the guards of a compiled template call.
const (
	funcRangeGuard = "__range__"
	funcCallGuard  = "__call__"
)

// guardFuncs returns the guard functions bound to st: the range guard
// charges a range's iterations to the budget before the range runs, the
// call guard charges one step per call of a defined template.
func guardFuncs(st *templateState) template.FuncMap {
	return template.FuncMap{
		funcRangeGuard: func(v any) (any, error) {
			if err := st.charge(rangeLen(v)); err != nil {
				return nil, err
			}
			return v, nil
		},
		funcCallGuard: func() (string, error) { return "", st.charge(1) },
	}
}

// charge counts n steps of the current execution.
func (st *templateState) charge(n uint64) error {
	if n > maxTemplateSteps || st.steps+n > maxTemplateSteps {
		st.steps = maxTemplateSteps + 1
		return errTemplateSteps
	}
	st.steps += n
	return nil
}

// rangeLen is how many iterations {{range v}} makes.
func rangeLen(v any) uint64 {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return uint64(max(rv.Int(), 0))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint()
	case reflect.Array, reflect.Slice, reflect.Map, reflect.String, reflect.Chan:
		return uint64(rv.Len())
	}
	return 0
}

// guardTemplates rewrites the parse trees of t and its associated templates
// so that every {{range P}} ranges over P | __range__ and, when templates
// are defined, every template body starts with {{__call__}}. funcs must
// hold the guard functions.
func guardTemplates(t *template.Template, funcs template.FuncMap) error {
	// The guard nodes are taken from a parsed snippet; nodes are never
	// modified by execution, so one instance serves every place.
	h, err := template.New(t.Name()).Funcs(funcs).Parse("{{0 | " + funcRangeGuard + "}}{{" + funcCallGuard + "}}")
	if err != nil {
		return err
	}
	rangeCmd := h.Tree.Root.Nodes[0].(*parse.ActionNode).Pipe.Cmds[1]
	callAction := h.Tree.Root.Nodes[1]
	// Without defined templates nothing calls a template.
	calls := len(t.Templates()) > 1
	seen := map[*parse.Tree]bool{}
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil || seen[tt.Tree] {
			continue
		}
		seen[tt.Tree] = true
		guardRanges(tt.Tree.Root, rangeCmd)
		if calls {
			tt.Tree.Root.Nodes = append([]parse.Node{callAction}, tt.Tree.Root.Nodes...)
		}
	}
	return nil
}

func guardRanges(n parse.Node, rangeCmd *parse.CommandNode) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			guardRanges(c, rangeCmd)
		}
	case *parse.RangeNode:
		n.Pipe.Cmds = append(n.Pipe.Cmds, rangeCmd)
		guardRanges(n.List, rangeCmd)
		guardRanges(n.ElseList, rangeCmd)
	case *parse.IfNode:
		guardRanges(n.List, rangeCmd)
		guardRanges(n.ElseList, rangeCmd)
	case *parse.WithNode:
		guardRanges(n.List, rangeCmd)
		guardRanges(n.ElseList, rangeCmd)
	}
}

// limitedBuffer is the output of a template execution, bounded.
type limitedBuffer struct{ buf *bytes.Buffer }

func (w limitedBuffer) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > maxTemplateString {
		return 0, errTemplateString
	}
	return w.buf.Write(p)
}

// checkSize fails when a function would return a string of n bytes.
func checkSize(n int) error {
	if n > maxTemplateString || n < 0 {
		return errTemplateString
	}
	return nil
}

// bounded returns s unless it is too long.
func bounded(s string) (string, error) {
	if err := checkSize(len(s)); err != nil {
		return "", err
	}
	return s, nil
}

// replaceN is strings.Replace refusing an output that is too long.
func replaceN(s, old, repl string, n int) (string, error) {
	if grow := len(repl) - len(old); grow > 0 {
		m := strings.Count(s, old)
		if n >= 0 && n < m {
			m = n
		}
		if m > (maxTemplateString-len(s))/grow {
			return "", errTemplateString
		}
	}
	return strings.Replace(s, old, repl, n), nil
}

// regexReplace is Regexp.ReplaceAllString (or ReplaceAllLiteralString)
// refusing an output that is too long. The size is computed from the
// matches before anything is built: exactly without $ references, else
// bounded (a reference expands to part of its match, and matches do not
// overlap) and, when the bound is too high, by expanding match by match.
func regexReplace(re, s, repl string, literal bool) (string, error) {
	r, err := regexp.Compile(re)
	if err != nil {
		return "", err
	}
	if len(repl) == 0 {
		if literal {
			return r.ReplaceAllLiteralString(s, repl), nil
		}
		return r.ReplaceAllString(s, repl), nil
	}
	// Matches beyond this many cannot fit whatever they replace.
	limit := (maxTemplateString-len(s))/len(repl) + len(s) + 2
	idx := r.FindAllStringIndex(s, limit)
	matched := 0
	for _, m := range idx {
		matched += m[1] - m[0]
	}
	size := len(s) - matched + len(idx)*len(repl)
	refs := 0
	if !literal {
		refs = strings.Count(repl, "$")
	}
	switch {
	case checkSize(size) != nil:
		return "", errTemplateString
	case literal:
		return r.ReplaceAllLiteralString(s, repl), nil
	case checkSize(size+refs*matched) == nil:
		return r.ReplaceAllString(s, repl), nil
	}
	// Expand match by match, as ReplaceAllString does, checking the size.
	var out []byte
	last := 0
	for _, m := range r.FindAllStringSubmatchIndex(s, limit) {
		out = append(out, s[last:m[0]]...)
		out = r.ExpandString(out, repl, s, m)
		last = m[1]
		if err := checkSize(len(out) + len(s) - last); err != nil {
			return "", err
		}
	}
	return string(append(out, s[last:]...)), nil
}

// repeatString is strings.Repeat refusing an output that is too long.
func repeatString(n int, s string) (string, error) {
	if n > 0 && len(s) > 0 && n > maxTemplateString/len(s) {
		return "", errTemplateString
	}
	return strings.Repeat(s, n), nil
}

// checkPad fails when padding s to n runes is too long.
func checkPad(n int, s string) error {
	if n > utf8.RuneCountInString(s) {
		return checkSize(len(s) + n)
	}
	return nil
}

// checkIndent fails when indenting s by n is too long.
func checkIndent(n int, s string) error {
	if n > maxTemplateString {
		return errTemplateString
	}
	lines := strings.Count(s, "\n") + 1
	if n > 0 && lines > (maxTemplateString-len(s))/n {
		return errTemplateString
	}
	return nil
}

// checkArgs fails on more arguments than maxTemplateArgs.
func checkArgs(args []any) error {
	if len(args) > maxTemplateArgs {
		return errTemplateArgs
	}
	return nil
}

// checkFormat fails when the widths and precisions a format asks for are
// too long by themselves (fmt allows up to 1e6 each); digits of argument
// indexes count too, which only overestimates.
func checkFormat(format string) error {
	total := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
	directive:
		for i++; i < len(format); i++ {
			switch c := format[i]; {
			case c >= '0' && c <= '9':
				n := 0
				for ; i+1 < len(format) && format[i+1] >= '0' && format[i+1] <= '9'; i++ {
					n = min(n*10+int(format[i]-'0'), maxTemplateString+1)
				}
				total += n*10 + int(format[i]-'0')
			case c == '*':
				total += 1e6
			case strings.IndexByte("+-# .[]", c) < 0:
				break directive // the verb
			}
		}
		if total > maxTemplateString {
			return errTemplateString
		}
	}
	return nil
}

// boundedBuiltins replace text/template's print, printf, println, html, js
// and urlquery with the same functions, bounded.
var boundedBuiltins = template.FuncMap{
	"print": func(args ...any) (string, error) {
		if err := checkArgs(args); err != nil {
			return "", err
		}
		return bounded(fmt.Sprint(args...))
	},
	"printf": func(format string, args ...any) (string, error) {
		if err := checkArgs(args); err != nil {
			return "", err
		}
		if err := checkFormat(format); err != nil {
			return "", err
		}
		return bounded(fmt.Sprintf(format, args...))
	},
	"println": func(args ...any) (string, error) {
		if err := checkArgs(args); err != nil {
			return "", err
		}
		return bounded(fmt.Sprintln(args...))
	},
	"html": func(args ...any) (string, error) {
		if err := checkArgs(args); err != nil {
			return "", err
		}
		return bounded(template.HTMLEscaper(args...))
	},
	"js": func(args ...any) (string, error) {
		if err := checkArgs(args); err != nil {
			return "", err
		}
		return bounded(template.JSEscaper(args...))
	},
	"urlquery": func(args ...any) (string, error) {
		if err := checkArgs(args); err != nil {
			return "", err
		}
		return bounded(template.URLQueryEscaper(args...))
	},
}
