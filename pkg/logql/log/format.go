package log

import (
	"bytes"
	"fmt"
	"regexp"
	"text/template"
	"text/template/parse"

	"github.com/skald-logs/skald/pkg/logql/syntax"
)

// compiledTemplate is a parsed line_format or label_format template,
// shared by the streams of a pipeline; each stream clones it to bind the
// entry functions to its own state.
type compiledTemplate struct {
	t *template.Template
	// parts is the template as text and {{.name}} actions only, which
	// run without text/template; nil for other templates.
	parts     []templatePart
	simpleKey string   // the template is exactly {{.simpleKey}}
	fields    []string // labels the template reads; nil with allFields
	allFields bool     // the template may read any label
}

func compileTemplate(name, text string) (*compiledTemplate, error) {
	var st templateState
	funcs := entryFuncs(&st)
	t, err := template.New(name).Option("missingkey=zero").Funcs(templateFuncs).Funcs(boundedBuiltins).Funcs(funcs).Parse(text)
	if err != nil {
		return nil, err
	}
	c := &compiledTemplate{t: t}
	if nodes := t.Root.Nodes; len(nodes) == 1 && len(t.Templates()) <= 1 {
		if a, ok := nodes[0].(*parse.ActionNode); ok && len(a.Pipe.Decl) == 0 && len(a.Pipe.Cmds) == 1 && len(a.Pipe.Cmds[0].Args) == 1 {
			if f, ok := a.Pipe.Cmds[0].Args[0].(*parse.FieldNode); ok && len(f.Ident) == 1 {
				c.simpleKey = f.Ident[0]
			}
		}
	}
	c.parts = concatParts(t)
	seen := map[string]bool{}
	c.allFields = len(t.Templates()) > 1 || !collectFields(t.Root, func(name string) {
		if !seen[name] {
			seen[name] = true
			c.fields = append(c.fields, name)
		}
	})
	if c.parts == nil && c.simpleKey == "" {
		// The template runs: bound it (template_limits.go).
		if err := guardTemplates(t, funcs); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// templatePart is literal text or, with field set, the value of a label.
type templatePart struct {
	text  []byte
	field string
}

// concatParts returns the parts of a template made only of text and
// {{.name}} actions, or nil.
func concatParts(t *template.Template) []templatePart {
	if len(t.Templates()) > 1 {
		return nil
	}
	var parts []templatePart
	for _, n := range t.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			parts = append(parts, templatePart{text: n.Text})
		case *parse.ActionNode:
			if len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) != 1 || len(n.Pipe.Cmds[0].Args) != 1 {
				return nil
			}
			f, ok := n.Pipe.Cmds[0].Args[0].(*parse.FieldNode)
			if !ok || len(f.Ident) != 1 {
				return nil
			}
			parts = append(parts, templatePart{field: f.Ident[0]})
		default:
			return nil
		}
	}
	if parts == nil {
		parts = []templatePart{} // the empty template
	}
	return parts
}

// collectFields calls add for every label a template reads as .name or
// $.name; it returns false when the template may use its data otherwise
// (a bare . or $, a nested template call), so that every label is needed.
func collectFields(n parse.Node, add func(string)) bool {
	switch n := n.(type) {
	case nil:
		return true
	case *parse.ListNode:
		if n == nil {
			return true
		}
		for _, c := range n.Nodes {
			if !collectFields(c, add) {
				return false
			}
		}
		return true
	case *parse.ActionNode:
		return collectFields(n.Pipe, add)
	case *parse.PipeNode:
		if n == nil {
			return true
		}
		for _, c := range n.Cmds {
			if !collectFields(c, add) {
				return false
			}
		}
		return true
	case *parse.CommandNode:
		for _, a := range n.Args {
			if !collectFields(a, add) {
				return false
			}
		}
		return true
	case *parse.FieldNode:
		add(n.Ident[0])
		return true
	case *parse.VariableNode:
		if n.Ident[0] == "$" {
			if len(n.Ident) == 1 {
				return false
			}
			add(n.Ident[1])
		}
		return true
	case *parse.ChainNode:
		return collectFields(n.Node, add)
	case *parse.IfNode:
		return collectBranch(&n.BranchNode, add)
	case *parse.RangeNode:
		return collectBranch(&n.BranchNode, add)
	case *parse.WithNode:
		return collectBranch(&n.BranchNode, add)
	case *parse.DotNode, *parse.TemplateNode:
		return false
	}
	return true // text, constants, identifiers, break, continue, comments
}

func collectBranch(b *parse.BranchNode, add func(string)) bool {
	return collectFields(b.Pipe, add) && collectFields(b.List, add) && collectFields(b.ElseList, add)
}

// instance is one stream's copy of a compiled template.
type templateInstance struct {
	c    *compiledTemplate
	t    *template.Template
	st   templateState
	data map[string]string
	buf  bytes.Buffer
}

func (c *compiledTemplate) instance() *templateInstance {
	in := &templateInstance{c: c, data: map[string]string{}}
	t, err := c.t.Clone()
	if err != nil {
		// Clone fails only after Execute; c.t is never executed.
		panic(fmt.Sprintf("clone template: %v", err))
	}
	in.t = t.Funcs(entryFuncs(&in.st))
	return in
}

// templateValue is the value a template reads for a label: error labels
// included.
func templateValue(b *builder, name string) (string, bool) {
	switch name {
	case errorLabel:
		return b.err, b.err != ""
	case errorDetailsLabel:
		return b.errDet, b.errDet != ""
	}
	return b.get(name)
}

// fill loads the labels the template reads into its data map.
func (in *templateInstance) fill(b *builder) {
	if in.c.allFields {
		clear(in.data)
		b.each(func(name, value string) { in.data[name] = value })
		return
	}
	for _, name := range in.c.fields {
		if v, ok := templateValue(b, name); ok {
			in.data[name] = v
		} else {
			delete(in.data, name)
		}
	}
}

// execute runs the template over the data map into buf.
func (in *templateInstance) execute(ts int64, line []byte) error {
	in.st.line, in.st.ts, in.st.steps = line, ts, 0
	in.buf.Reset()
	return in.t.Execute(limitedBuffer{&in.buf}, in.data)
}

// lineFormatter is `| line_format "{{…}}"`. A failing template keeps the
// line and sets __error__=TemplateFormatErr.
type lineFormatter struct {
	in  *templateInstance
	out []byte
}

func newLineFormatter(c *compiledTemplate) stageMaker {
	return func() stage {
		if c.simpleKey != "" {
			return simpleLineFormatter(c.simpleKey)
		}
		return &lineFormatter{in: c.instance()}
	}
}

func (f *lineFormatter) process(ts int64, line []byte, b *builder) ([]byte, bool) {
	if parts := f.in.c.parts; parts != nil {
		out := f.out[:0]
		for _, p := range parts {
			if p.field == "" {
				out = append(out, p.text...)
				continue
			}
			v, _ := templateValue(b, p.field)
			out = append(out, v...)
		}
		f.out = out
		return out, true
	}
	f.in.fill(b)
	if err := f.in.execute(ts, line); err != nil {
		b.setErr(errTemplateFormat, err.Error())
		return line, true
	}
	return f.in.buf.Bytes(), true
}

// simpleLineFormatter is `| line_format "{{.name}}"`: the line becomes the
// label's value, "" when it is missing (__error__ is not a label here, as
// in Loki's shortcut).
type simpleLineFormatter string

func (f simpleLineFormatter) process(_ int64, _ []byte, b *builder) ([]byte, bool) {
	v, _ := b.get(string(f))
	return unsafeBytes(v), true
}

// labelsFormatter is `| label_format dst=src, dst="{{…}}"`. A rename moves
// the value of src (when present) to dst; a template sets dst and keeps
// the labels it reads. Results are parsed labels. Templates see the labels
// as they were when the stage's first template ran.
type labelsFormatter struct {
	fmts []syntax.LabelFmt
	ins  []*templateInstance // per format; nil for renames
	data map[string]string
	all  bool
}

func newLabelsFormatter(fmts []syntax.LabelFmt, tmpls []*compiledTemplate) stageMaker {
	return func() stage {
		f := &labelsFormatter{fmts: fmts, ins: make([]*templateInstance, len(fmts)), data: map[string]string{}}
		for i, c := range tmpls {
			if c != nil {
				f.ins[i] = c.instance()
				f.ins[i].data = f.data
			}
		}
		return f
	}
}

func (f *labelsFormatter) process(ts int64, line []byte, b *builder) ([]byte, bool) {
	filled := false
	for i, lf := range f.fmts {
		if lf.Rename {
			if v, ok := b.get(lf.Value); ok {
				b.set(lf.Name, v)
				b.del(lf.Value)
			}
			continue
		}
		in := f.ins[i]
		if !filled || len(f.data) == 0 {
			clear(f.data)
			b.each(func(name, value string) { f.data[name] = value })
			filled = true
		}
		if parts := in.c.parts; parts != nil {
			start := len(b.arena)
			for _, p := range parts {
				if p.field == "" {
					b.arena = append(b.arena, p.text...)
				} else {
					b.arena = append(b.arena, f.data[p.field]...)
				}
			}
			b.set(lf.Name, arenaTail(b, start))
			continue
		}
		if err := in.execute(ts, line); err != nil {
			b.setErr(errTemplateFormat, err.Error())
			continue
		}
		b.set(lf.Name, b.arenaString(in.buf.Bytes()))
	}
	return line, true
}

// ansiPattern matches ANSI escape sequences; Loki's expression (from
// acarl005/stripansi).
const ansiPattern = "[\u001B\u009B][[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?\u0007)|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))"

// decolorizer is `| decolorize`: it strips ANSI escape sequences.
type decolorizer struct {
	re  *regexp.Regexp
	buf []byte
}

func newDecolorizer(re *regexp.Regexp) stageMaker {
	return func() stage { return &decolorizer{re: re} }
}

func (d *decolorizer) process(_ int64, line []byte, _ *builder) ([]byte, bool) {
	if bytes.IndexByte(line, 0x1b) < 0 && !bytes.Contains(line, []byte("\u009b")) {
		return line, true
	}
	d.buf = d.buf[:0]
	rest := line
	for len(rest) > 0 {
		loc := d.re.FindIndex(rest)
		if loc == nil {
			break
		}
		d.buf = append(d.buf, rest[:loc[0]]...)
		rest = rest[loc[1]:]
	}
	d.buf = append(d.buf, rest...)
	return d.buf, true
}

// dropLabels is `| drop a, b="v", c=~"re"`: it removes the named labels,
// or those whose value matches; __error__ and __error_details__ included.
type dropLabels struct{ ms []syntax.NamedMatcher }

func (d dropLabels) process(_ int64, line []byte, b *builder) ([]byte, bool) {
	for _, m := range d.ms {
		name := m.Name
		if m.Matcher != nil {
			name = m.Matcher.Name
		}
		var v string
		switch name {
		case errorLabel:
			v = b.err
		case errorDetailsLabel:
			v = b.errDet
		default:
			var ok bool
			v, ok = b.get(name)
			if m.Matcher == nil && !ok {
				continue
			}
		}
		if m.Matcher != nil && !m.Matcher.Matches(v) {
			continue
		}
		switch name {
		case errorLabel:
			b.err = ""
		case errorDetailsLabel:
			b.errDet = ""
		default:
			b.del(name)
		}
	}
	return line, true
}

// keepLabels is `| keep a, b="v"`: it removes every label not named (or
// whose value does not match); __error__ and __error_details__ stay.
type keepLabels struct {
	ms    []syntax.NamedMatcher
	names []string
}

func (k *keepLabels) process(_ int64, line []byte, b *builder) ([]byte, bool) {
	if len(k.ms) == 0 {
		return line, true
	}
	names := k.names[:0]
	b.each(func(name, value string) {
		if name == errorLabel || name == errorDetailsLabel || name == "__preserve_error__" {
			return
		}
		for _, m := range k.ms {
			if m.Matcher == nil && m.Name == name || m.Matcher != nil && m.Matcher.Name == name && m.Matcher.Matches(value) {
				return
			}
		}
		names = append(names, name)
	})
	for _, n := range names {
		b.del(n)
	}
	k.names = names[:0]
	return line, true
}

// newKeepLabels returns the keep stage maker.
func newKeepLabels(ms []syntax.NamedMatcher) stageMaker {
	return func() stage { return &keepLabels{ms: ms} }
}
