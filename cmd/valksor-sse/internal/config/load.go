package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// FileName is the config file Load looks for first, relative to its dir
// argument, when no path is given.
const FileName = "valksor.yaml"

// SymfonyFileName is the config file Load looks for second, relative to its
// dir argument, when no path is given and FileName does not exist: the
// location of the bundle's config in a Symfony project.
const SymfonyFileName = "config/packages/valksor.yaml"

// Load builds the configuration: Default, overridden by the config file,
// overridden by VALKSOR_SSE_* variables from env (a list of "NAME=value"
// like os.Environ()), then checked with Validate.
//
// When path is "", Load reads FileName, else SymfonyFileName, in dir and
// uses the defaults when neither exists; a relative explicit path is taken
// relative to dir, and must exist. Config.Source records the file read. In
// the file only the valksor.sse mapping is read: other top-level keys and
// other components under valksor are ignored, while an unknown key inside
// valksor.sse is an error. An empty value (key: or key: ~) keeps the
// default.
//
// In env, an empty value counts as unset, except for list keys where it
// means an empty list. A VALKSOR_SSE_* variable that is neither a key's nor
// reserved (see IsReserved) is an error (see LoadWarn).
//
// The Symfony bundle's names for keys (bind for host, path for base_path,
// ssl_cert_path and ssl_key_path for tls.cert and tls.key; see
// Key.AliasOf) set the same values. Where one mapping sets a key under both
// names with different values, that is an error naming both.
//
// As in Symfony, when APP_ENV is set in env, the keys of the top-level
// when@<APP_ENV> block's valksor.sse mapping override those of the base
// mapping (a list replaces the base list); other when@ blocks are ignored,
// and so are all of them without APP_ENV. Of Symfony's parameters only
// %kernel.project_dir% is resolved (see projectDir): a value holding an
// %env(...)% placeholder or another parameter is an error that names the
// VALKSOR_SSE_* variable to set instead, unless that variable is set, since
// it overrides the value anyway.
//
// Errors name the file and line or the variable, the full key, and what is
// accepted; several problems are reported together, one per line. When the
// resulting Enabled is false, the error wraps ErrDisabled. On error the
// returned Config is the zero value.
func Load(dir, path string, env []string) (Config, error) {
	return load(dir, path, env, nil)
}

// LoadWarn is Load for commands that do not run a server (status, publish,
// tail, stop, token...): an unknown VALKSOR_SSE_* variable, which such a
// command would not use anyway, is passed to warn, a message naming it,
// instead of being an error. Everything else is as in Load.
func LoadWarn(dir, path string, env []string, warn func(msg string)) (Config, error) {
	return load(dir, path, env, warn)
}

// load is Load; a non-nil warn receives the unknown variables.
func load(dir, path string, env []string, warn func(string)) (Config, error) {
	c := Default()
	l := loader{origins: make(map[string]string), names: make(map[string]string), env: make(map[string]string), warn: warn}
	for _, kv := range env {
		if name, value, ok := strings.Cut(kv, "="); ok {
			l.env[name] = value
		}
	}

	file, data, err := readConfigFile(dir, path)
	if err != nil {
		return Config{}, err
	}
	if file != "" {
		c.Source = file
		l.file = file
		if err := l.loadFile(&c, data); err != nil {
			return Config{}, err
		}
	}
	l.loadEnv(&c, env)
	if _, set := l.origins["dashboard.enabled"]; set {
		c.Dashboard.Auto = false
	}
	// Values that failed to parse kept their defaults, so validating the
	// rest now reports every problem in one go.
	parseFailed := len(l.errs) > 0
	for _, p := range c.validate() {
		name := p.key
		if written := l.names[p.key]; written != "" {
			name = written // the bundle's name, as the file has it
		}
		l.errs = append(l.errs, fmt.Errorf("%s%s%s: %s", l.originPrefix(p.key), keyPrefix, name, p.msg))
	}
	if !parseFailed && !c.Enabled {
		return Config{}, l.disabled()
	}
	if len(l.errs) > 0 {
		return Config{}, errors.Join(l.errs...)
	}
	return c, nil
}

// readConfigFile finds and reads the config file. It returns "" and no
// error when path is "" and no candidate exists.
func readConfigFile(dir, path string) (string, []byte, error) {
	if path != "" {
		if dir != "" && !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil, fmt.Errorf("config file %s does not exist: %w", path, err)
		}
		if err != nil {
			return "", nil, fmt.Errorf("read config file: %w", err)
		}
		return path, data, nil
	}
	for _, name := range []string{FileName, SymfonyFileName} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("read config file: %w", err)
		}
		return p, data, nil
	}
	return "", nil, nil
}

// loader carries the state of one Load call.
type loader struct {
	file    string
	origins map[string]string // key name -> "file:line" or "environment variable NAME"
	names   map[string]string // key name -> the alias that set it last, when one did
	env     map[string]string // the environment given to Load
	warn    func(string)      // LoadWarn's: unknown variables are not errors
	errs    []error

	projectDir     string // %kernel.project_dir%, once looked up
	projectDirDone bool
}

// at formats a position prefix for node n in the config file.
func (l *loader) at(n *yaml.Node) string {
	return fmt.Sprintf("%s:%d: ", l.file, n.Line)
}

// addf records a problem located at node n.
func (l *loader) addf(n *yaml.Node, format string, args ...any) {
	l.errs = append(l.errs, errors.New(l.at(n)+fmt.Sprintf(format, args...)))
}

// originPrefix returns the position prefix of whatever last set key, or ""
// when it has its default value.
func (l *loader) originPrefix(key string) string {
	if o, ok := l.origins[key]; ok {
		return o + ": "
	}
	return ""
}

// disabled builds the ErrDisabled error naming where enabled was set false.
func (l *loader) disabled() error {
	o := l.origins["enabled"]
	if strings.HasPrefix(o, "environment") {
		return &disabledError{msg: o + ": valksor.sse.enabled is false: the SSE server is disabled by the environment; set it to true (or unset the variable) to run it"}
	}
	return &disabledError{msg: o + ": valksor.sse.enabled is false: the SSE server is disabled in this config; set it to true (or remove the key) to run it"}
}

// yamlLineError matches the position yaml.v3 puts in syntax errors.
var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// loadFile parses data and applies the valksor.sse mapping to c. It
// returns an error only for malformed YAML; problems with keys and values
// are collected in l.errs.
func (l *loader) loadFile(c *Config, data []byte) error {
	doc, err := l.decode(data)
	if err != nil || doc == nil {
		return err
	}
	root := doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	root = deref(root)
	if isNull(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		l.addf(root, "want a mapping at the top level (valksor: sse: ...), got %s", describe(root))
		return nil
	}
	l.loadSSE(c, root, "")
	if appEnv := l.env[appEnvVar]; appEnv != "" {
		block := whenPrefix + appEnv
		if when := l.child(root, block, block); when != nil {
			l.loadSSE(c, when, block+".")
		}
	}
	return nil
}

// appEnvVar is the environment variable naming the Symfony environment
// whose when@ block applies.
const appEnvVar = "APP_ENV"

// whenPrefix starts the top-level keys of Symfony's per-environment blocks
// (when@dev, when@prod).
const whenPrefix = "when@"

// loadSSE applies the valksor.sse mapping inside mapping m, if any; path
// names m for messages ("" for the top level, "when@prod." for a block).
func (l *loader) loadSSE(c *Config, m *yaml.Node, path string) {
	valksor := l.child(m, "valksor", path+"valksor")
	if valksor == nil {
		return
	}
	sse := l.child(valksor, "sse", path+"valksor.sse")
	if sse == nil {
		return
	}
	l.loadMapping(c, sse, "", &mappingState{seen: make(map[string]int), set: make(map[string]setting)})
}

// mappingState is what loadMapping remembers across one valksor.sse
// mapping (the base one, or a when@ block's) and its blocks of keys.
type mappingState struct {
	// seen maps a full key name to the line of its first explicit
	// occurrence.
	seen map[string]int
	// set maps a key name to where this mapping set it, under that name or
	// an alias.
	set map[string]setting
}

// setting is a key set by a mapping: the name it was written under, its
// node and its parsed value.
type setting struct {
	name  string
	node  *yaml.Node
	value any
}

// loadMapping applies the keys of m, whose names are relative to prefix
// ("" for valksor.sse itself, "watch." for the watch block).
func (l *loader) loadMapping(c *Config, m *yaml.Node, prefix string, st *mappingState) {
	seen := st.seen
	for _, e := range l.entries(m, 0) {
		name := prefix + e.key.Value
		d, ok := keyByName[name]
		if e.key.Kind == yaml.ScalarNode && !ok && isBlock(name) {
			if v := deref(e.value); v.Kind == yaml.MappingNode {
				l.loadMapping(c, v, name+".", st)
				continue
			} else if !isNull(v) {
				l.addf(v, "%s%s: want a block of keys (%s), got %s", keyPrefix, name, strings.Join(blockKeys(name), ", "), describe(v))
				continue
			}
			continue
		}
		if e.key.Kind != yaml.ScalarNode || !ok {
			l.addf(e.key, "unknown key %s%s%s; `valksor-sse config keys` lists every key", keyPrefix, prefix+keyLabel(e.key), suggestion(name, keyNames(), ""))
			continue
		}
		if !e.merged {
			if first, dup := seen[name]; dup {
				l.addf(e.key, "duplicate key %s%s (first set on line %d); remove one of them", keyPrefix, name, first)
				continue
			}
			seen[name] = e.key.Line
		}
		v := deref(e.value)
		if isNull(v) {
			continue // keep the default
		}
		v = l.resolveProjectDir(v)
		if n, param := envPlaceholder(v); n != nil {
			if !l.envSets(d) {
				l.addf(n, "%s%s: %s", keyPrefix, name, l.placeholderHint(d, param))
			}
			continue
		}
		val, bad, msg := d.parseNode(v)
		if msg != "" {
			l.addf(bad, "%s%s: %s", keyPrefix, name, msg)
			continue
		}
		t := d.target()
		if prev, twice := st.set[t.name]; twice {
			// The same key under its other name (host and bind): an
			// explicit key wins over a merged one (<<), and two explicit
			// ones must agree.
			if !e.merged && !reflect.DeepEqual(prev.value, val) {
				alias, of := name, prev.name
				if d.alias == "" {
					alias, of = prev.name, name
				}
				l.addf(v, "%s%s is %s here but %s%s is %s on line %d: %s is the Symfony bundle's name for %s, so they set the same thing; keep one of them",
					keyPrefix, name, describe(v), keyPrefix, prev.name, describe(prev.node), prev.node.Line, alias, of)
			}
			continue
		}
		st.set[t.name] = setting{name: name, node: v, value: val}
		d.set(c, val)
		l.origins[t.name] = strings.TrimSuffix(l.at(v), ": ")
		if d.alias != "" {
			l.names[t.name] = name
		} else {
			delete(l.names, t.name)
		}
	}
}

// projectParam is the one Symfony parameter Load resolves.
const projectParam = "%kernel.project_dir%"

// resolveProjectDir returns v with %kernel.project_dir% replaced by the
// project directory in its scalars (v itself, or the items of a list), or
// v unchanged when it holds none or the directory is unknown. v is not
// modified: an alias may share it.
func (l *loader) resolveProjectDir(v *yaml.Node) *yaml.Node {
	resolve := func(n *yaml.Node) *yaml.Node {
		if n == nil || n.Kind != yaml.ScalarNode || !strings.Contains(n.Value, projectParam) {
			return n
		}
		dir := l.project()
		if dir == "" {
			return n
		}
		c := *n
		c.Value = strings.ReplaceAll(n.Value, projectParam, filepath.ToSlash(dir))
		c.Tag = "!!str"
		return &c
	}
	if v.Kind != yaml.SequenceNode {
		return resolve(v)
	}
	var items []*yaml.Node
	for i, item := range v.Content {
		if r := resolve(deref(item)); r != deref(item) {
			if items == nil {
				items = slices.Clone(v.Content)
			}
			items[i] = r
		}
	}
	if items == nil {
		return v
	}
	c := *v
	c.Content = items
	return &c
}

// project returns the project directory of the config file, looked up
// once (see projectDir).
func (l *loader) project() string {
	if !l.projectDirDone {
		l.projectDir, l.projectDirDone = projectDir(l.file), true
	}
	return l.projectDir
}

// projectDir returns what Symfony's kernel.project_dir would be for the
// config file: the nearest directory at or above the file's that holds a
// composer.json (the rule of Symfony's Kernel::getProjectDir), else, for a
// file in a config directory (config/packages/valksor.yaml or
// config/valksor.yaml), the directory above config; "" when neither.
func projectDir(file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return ""
	}
	start := filepath.Dir(abs)
	for d := start; ; {
		if st, err := os.Stat(filepath.Join(d, "composer.json")); err == nil && st.Mode().IsRegular() {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	for d, i := start, 0; i < 2; d, i = filepath.Dir(d), i+1 {
		if filepath.Base(d) == "config" {
			return filepath.Dir(d)
		}
	}
	return ""
}

// envParam matches a Symfony parameter: an environment variable
// placeholder such as %env(int:SSE_PORT)% (the group is what is between the
// parentheses) or a container parameter such as %kernel.project_dir%. The
// escape %% matches neither.
var envParam = regexp.MustCompile(`%(?:env\((.*?)\)|[A-Za-z_][A-Za-z0-9_.]*)%`)

// envPlaceholder returns the first scalar of n (n itself, or an item of a
// list) holding a Symfony parameter (%env(...)% or %name%), and the
// parameter.
func envPlaceholder(n *yaml.Node) (*yaml.Node, string) {
	nodes := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		nodes = n.Content
	}
	for _, item := range nodes {
		item = deref(item)
		if item != nil && item.Kind == yaml.ScalarNode {
			if p := envParam.FindString(item.Value); p != "" {
				return item, p
			}
		}
	}
	return nil, ""
}

// envSets reports whether the environment given to Load sets key d, so
// that its value in the file does not matter.
func (l *loader) envSets(d *keyDef) bool {
	v, ok := l.env[d.env()]
	return ok && (v != "" || d.kind == kindList)
}

// envVarName matches an environment variable name as Symfony's %env()%
// takes it, after any processors ("int:", "default:fallback:").
var envVarName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// placeholderHint explains that the Symfony parameter param cannot be used
// for key d, and what to do instead.
func (l *loader) placeholderHint(d *keyDef, param string) string {
	if param == projectParam {
		return fmt.Sprintf("%q is resolved only in a Symfony project, and %s is in none (no composer.json at or above it, and not in a config directory); set the environment variable %s instead (it overrides this value, which is then ignored), or write the path itself here", param, l.file, d.env())
	}
	example := ""
	inner := envParam.FindStringSubmatch(param)[1] // "" for %name%
	if i := strings.LastIndexByte(inner, ':'); i >= 0 {
		inner = inner[i+1:]
	}
	if inner != "" && envVarName.MatchString(inner) && inner != d.env() {
		example = fmt.Sprintf(", e.g. %s=\"$%s\"", d.env(), inner)
	}
	return fmt.Sprintf("%q is a Symfony parameter, which only Symfony resolves, not valksor-sse; set the environment variable %s instead%s (it overrides this value, which is then ignored), or write the value itself here", param, d.env(), example)
}

// isBlock reports whether name is a block of keys such as "watch".
func isBlock(name string) bool { return len(blockKeys(name)) > 0 }

// blockKeys lists the keys inside the block name, without the prefix.
func blockKeys(name string) []string {
	var out []string
	for i := range keys {
		if rest, ok := strings.CutPrefix(keys[i].name, name+"."); ok {
			out = append(out, rest)
		}
	}
	return out
}

// decode parses data as a single YAML document. It returns nil and no
// error for an empty document.
func (l *loader) decode(data []byte) (doc *yaml.Node, err error) {
	defer func() {
		// Malformed input must never crash the server; the parser is
		// third-party code, so a panic in it becomes a syntax error.
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("%s: invalid YAML: %v", l.file, r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	doc = new(yaml.Node)
	if err := dec.Decode(doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // empty file: defaults
		}
		return nil, l.syntaxError(err)
	}
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			return doc, nil
		}
		if err != nil {
			return nil, l.syntaxError(err)
		}
		if len(extra.Content) > 0 && !isNull(extra.Content[0]) {
			return nil, fmt.Errorf("%s:%d: a second YAML document starts here; put all settings in one document", l.file, extra.Line)
		}
	}
}

// syntaxError turns a YAML parser error into one naming the file and line.
func (l *loader) syntaxError(err error) error {
	msg := err.Error()
	if m := yamlLineError.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: invalid YAML: %s", l.file, m[1], m[2])
	}
	return fmt.Errorf("%s: invalid YAML: %s", l.file, strings.TrimPrefix(msg, "yaml: "))
}

// child returns the mapping under key name in mapping m, or nil when the
// key is absent or empty. Other values are reported as problems; path is
// the key's full name for messages.
func (l *loader) child(m *yaml.Node, name, path string) *yaml.Node {
	var found *yaml.Node
	var firstLine int
	for _, e := range l.entries(m, 0) {
		if e.key.Kind != yaml.ScalarNode || e.key.Value != name {
			continue
		}
		if found != nil && !e.merged {
			l.addf(e.key, "duplicate key %s (first set on line %d); remove one of them", path, firstLine)
			return nil
		}
		if found == nil {
			found, firstLine = e.value, e.key.Line
		}
	}
	if found == nil {
		return nil
	}
	v := deref(found)
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		l.addf(v, "%s: want a mapping, got %s", path, describe(v))
		return nil
	}
	return v
}

// entry is one key/value pair of a mapping; merged is true for pairs that
// come from a merge key (<<).
type entry struct {
	key, value *yaml.Node
	merged     bool
}

// maxMergeDepth bounds nested merge keys.
const maxMergeDepth = 8

// entries returns the pairs of mapping m in document order, followed by the
// pairs merged in with "<<" whose keys are not set explicitly (earlier merge
// sources win, as in YAML 1.1).
func (l *loader) entries(m *yaml.Node, depth int) []entry {
	var explicit, merged []entry
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			if depth >= maxMergeDepth {
				l.addf(k, "merge keys (<<) nested too deeply")
				continue
			}
			v = deref(v)
			sources := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				sources = v.Content
			}
			for _, s := range sources {
				s = deref(s)
				if s.Kind != yaml.MappingNode {
					l.addf(s, "a merge key (<<) wants a mapping or a list of mappings, got %s", describe(s))
					continue
				}
				for _, e := range l.entries(s, depth+1) {
					merged = append(merged, entry{key: e.key, value: e.value, merged: true})
				}
			}
			continue
		}
		explicit = append(explicit, entry{key: k, value: v})
	}
	if len(merged) == 0 {
		return explicit
	}
	have := make(map[string]bool, len(explicit)+len(merged))
	for _, e := range explicit {
		have[e.key.Value] = true
	}
	out := explicit
	for _, e := range merged {
		if !have[e.key.Value] {
			have[e.key.Value] = true
			out = append(out, e)
		}
	}
	return out
}

// maxAliasDepth bounds alias chains followed by deref.
const maxAliasDepth = 16

// deref follows alias nodes to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < maxAliasDepth; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent, empty or an explicit null.
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names a node's value for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "null"
		}
		return strconv.Quote(n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

// keyLabel renders a mapping key for messages.
func keyLabel(k *yaml.Node) string {
	if k.Kind == yaml.ScalarNode {
		return k.Value
	}
	return "<" + strings.TrimPrefix(describe(k), "a ") + ">"
}

// parseNode converts YAML node n (not null, aliases resolved) to a value
// for key d. On failure it returns the node to blame and a message.
func (d *keyDef) parseNode(n *yaml.Node) (any, *yaml.Node, string) {
	if d.kind == kindList {
		switch n.Kind {
		case yaml.SequenceNode:
			out := make([]string, 0, len(n.Content))
			for i, item := range n.Content {
				item = deref(item)
				if item.Kind != yaml.ScalarNode || isNull(item) {
					return nil, item, fmt.Sprintf("item %d: want a string, got %s", i+1, describe(item))
				}
				out = append(out, strings.TrimSpace(item.Value))
			}
			return out, nil, ""
		case yaml.ScalarNode:
			return splitList(n.Value), nil, ""
		}
		return nil, n, d.want() + ", got " + describe(n)
	}
	if n.Kind != yaml.ScalarNode {
		return nil, n, d.want() + ", got " + describe(n)
	}
	tag := n.ShortTag()
	switch d.kind {
	case kindInt, kindSeconds, kindMillis:
		if tag == "!!int" {
			var i int64
			if err := n.Decode(&i); err != nil {
				return nil, n, d.want() + ", got " + describe(n)
			}
			v, msg := d.fromInt(i, n.Value)
			return v, n, msg
		}
		if tag == "!!float" || tag == "!!bool" {
			return nil, n, d.want() + ", got " + describe(n)
		}
	case kindBool:
		if tag != "!!bool" && tag != "!!str" && tag != "!!int" {
			return nil, n, d.want() + ", got " + describe(n)
		}
	}
	v, msg := d.parseText(n.Value)
	return v, n, msg
}

// parseText converts a textual value (an environment variable or a YAML
// string) for key d. It returns the value or a message.
func (d *keyDef) parseText(s string) (any, string) {
	t := strings.TrimSpace(s)
	got := ", got " + strconv.Quote(s)
	switch d.kind {
	case kindBool:
		switch strings.ToLower(t) {
		case "true", "yes", "on", "1":
			return true, ""
		case "false", "no", "off", "0":
			return false, ""
		}
		return nil, d.want() + got
	case kindString:
		return s, ""
	case kindList:
		return splitList(s), ""
	case kindInt:
		i, err := strconv.ParseInt(t, 10, strconv.IntSize)
		if err != nil {
			return nil, d.want() + got
		}
		return d.fromInt(i, s)
	}
	// Durations: a bare integer in the key's unit, or a Go duration string.
	if isInteger(t) {
		i, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return nil, d.want() + got
		}
		return d.fromInt(i, s)
	}
	dur, err := time.ParseDuration(t)
	if err != nil || !d.inRange(int64(dur)) {
		return nil, d.want() + got
	}
	return dur, ""
}

// fromInt converts integer i (written as text) to key d's value, checking
// its range.
func (d *keyDef) fromInt(i int64, text string) (any, string) {
	bad := d.want() + ", got " + strconv.Quote(text)
	switch d.kind {
	case kindSeconds, kindMillis:
		unit, limit := time.Second, maxSeconds
		if d.kind == kindMillis {
			unit, limit = time.Millisecond, maxMillis
		}
		if i > limit || !d.inRange(i*int64(unit)) {
			return nil, bad
		}
		return time.Duration(i) * unit, ""
	default:
		if !d.inRange(i) || int64(int(i)) != i {
			return nil, bad
		}
		return i, ""
	}
}

// isInteger reports whether s is an optionally signed run of decimal digits.
func isInteger(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// splitList splits a comma-separated list, trimming spaces and dropping
// empty items; it never returns nil.
func splitList(s string) []string {
	out := []string{}
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// set stores a parsed value v into key d's field of c.
func (d *keyDef) set(c *Config, v any) {
	switch p := d.field(c).(type) {
	case *bool:
		*p = v.(bool)
	case *string:
		*p = v.(string)
	case *int:
		*p = int(v.(int64))
	case *int64:
		*p = v.(int64)
	case *time.Duration:
		*p = v.(time.Duration)
	case *[]string:
		*p = v.([]string)
	default:
		panic(fmt.Sprintf("config: key %s has unsupported field type %T", d.name, p))
	}
}

// loadEnv applies VALKSOR_SSE_* variables from env to c.
func (l *loader) loadEnv(c *Config, env []string) {
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || IsReserved(name) {
			continue
		}
		d, known := keyByEnv[name]
		if !known {
			msg := fmt.Sprintf("unknown environment variable %s%s; `valksor-sse config keys` lists every variable",
				name, suggestion(strings.TrimPrefix(name, EnvPrefix), envKeyNames(), EnvPrefix))
			if a := keyByName[strings.ToLower(strings.TrimPrefix(name, EnvPrefix))]; a != nil && a.alias != "" {
				msg = fmt.Sprintf("unknown environment variable %s: %s is the Symfony bundle's name for %s, whose variable is %s", name, a.name, a.alias, a.env())
			}
			if l.warn != nil {
				l.warn(msg + "; ignored, as this command does not use it (serve and dev refuse to start with it)")
				continue
			}
			l.errs = append(l.errs, errors.New(msg))
			continue
		}
		if value == "" && d.kind != kindList {
			continue // empty counts as unset
		}
		v, msg := d.parseText(value)
		if msg != "" {
			l.errs = append(l.errs, fmt.Errorf("environment variable %s: %s", name, msg))
			continue
		}
		d.set(c, v)
		l.origins[d.name] = "environment variable " + name
		delete(l.names, d.name)
	}
}
