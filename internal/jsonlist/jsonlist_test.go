package jsonlist_test

import (
	"fmt"
	"testing"

	"github.com/valksor/go-sse/internal/jsonlist"
)

func TestDecode(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{
		{`"a"`, "[a]", true},
		{`["a","b"]`, "[a b]", true},
		{`[]`, "[]", true},
		{`7`, "[]", false},
		{`["a",1]`, "[]", false},
		{`{"a":1}`, "[]", false},
	} {
		got, ok := jsonlist.Decode([]byte(c.in))
		if ok != c.ok || (ok && fmt.Sprint(got) != c.want) {
			t.Errorf("Decode(%s) = %v, %v; want %s, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
