package mercure_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valksor/go-sse/mercure"
)

// wptEntry is one case of the web-platform-tests' URL Pattern data
// (urlpattern/resources/urlpatterntestdata.json).
type wptEntry struct {
	Pattern       []any `json:"pattern"`
	Inputs        []any `json:"inputs"`
	ExpectedObj   any   `json:"expected_obj"`
	ExpectedMatch any   `json:"expected_match"`
}

// wptData reads the web-platform-tests data that the URL pattern library
// ships and tests itself with.
func wptData(t *testing.T) []wptEntry {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/dunglas/go-urlpattern").Output()
	if err != nil {
		t.Fatalf("locating the URL pattern module: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "testdata", "urlpatterntestdata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var data []wptEntry
	if err := json.Unmarshal(b, &data); err != nil {
		t.Fatal(err)
	}
	return data
}

// TestMercureURLPatternWPT runs the web-platform-tests URL Pattern cases
// that a Mercure matcher can be given (a pattern string with an optional
// base URL, and topic strings) through CompileURLPattern and Match: a
// pattern the standard rejects must be refused, and a topic must match
// exactly when the standard says it does (a topic the standard cannot
// parse matches nothing). The other cases build patterns from components,
// which Mercure never does.
func TestMercureURLPatternWPT(t *testing.T) {
	total, passed := 0, 0
	for i, e := range wptData(t) {
		if len(e.Pattern) == 0 || len(e.Pattern) > 2 {
			continue // components, or options (ignoreCase, which Mercure forbids)
		}
		pattern, ok := e.Pattern[0].(string)
		if !ok {
			continue
		}
		base := ""
		if len(e.Pattern) == 2 {
			if base, ok = e.Pattern[1].(string); !ok {
				continue
			}
		}
		var topic, topicBase string
		for j, in := range e.Inputs {
			s, ok := in.(string)
			if !ok {
				topic = "\x00" // a components input
				break
			}
			if j == 0 {
				topic = s
			} else {
				topicBase = s
			}
		}
		wantErr := e.ExpectedObj == "error"
		if topic == "\x00" || (topicBase != "" && topicBase != base) || (!wantErr && len(e.Inputs) == 0) {
			continue // the hub resolves topics against its own URL only
		}
		total++
		p, err := mercure.CompileURLPattern(pattern, base)
		switch {
		case wantErr:
			if err == nil {
				t.Errorf("case %d: %q (base %q) compiled; the standard rejects it", i, pattern, base)
				continue
			}
		case err != nil:
			t.Errorf("case %d: %q (base %q): %v", i, pattern, base, err)
			continue
		default:
			want := e.ExpectedMatch != nil && e.ExpectedMatch != "error"
			if got := p.Match(topic); got != want {
				t.Errorf("case %d: %q (base %q) matches %q = %v, want %v", i, pattern, base, topic, got, want)
				continue
			}
		}
		passed++
	}
	t.Logf("web-platform-tests URL Pattern cases with a pattern string and topic strings: %d of %d pass", passed, total)
	if total < 60 {
		t.Fatalf("only %d cases apply; the data has changed shape", total)
	}
}
