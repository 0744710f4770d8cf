package process

import (
	"encoding/binary"
	"slices"
	"testing"
)

func TestParseProcArgs(t *testing.T) {
	record := func(argc uint32, rest string) []byte {
		b := binary.NativeEndian.AppendUint32(nil, argc)
		return append(b, rest...)
	}
	tests := []struct {
		name     string
		b        []byte
		wantExe  string
		wantArgs []string
		wantErr  bool
	}{
		{"server", record(3, "/usr/local/bin/vsse\x00\x00\x00\x00vsse\x00serve\x00--port=8080\x00PATH=/bin\x00"),
			"/usr/local/bin/vsse", []string{"vsse", "serve", "--port=8080"}, false},
		{"no arguments", record(0, "/bin/x\x00\x00"), "/bin/x", []string{}, false},
		{"cut short", record(3, "/bin/x\x00\x00x\x00"), "/bin/x", []string{"x"}, false},
		{"no terminator", record(1, "/bin/x\x00arg"), "/bin/x", []string{"arg"}, false},
		{"too short", []byte{1, 0}, "", nil, true},
		{"no path end", record(1, "/bin/x"), "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exe, args, err := parseProcArgs(tt.b)
			if (err != nil) != tt.wantErr || exe != tt.wantExe || !slices.Equal(args, tt.wantArgs) {
				t.Errorf("parseProcArgs = %q, %q, %v; want %q, %q, error %v", exe, args, err, tt.wantExe, tt.wantArgs, tt.wantErr)
			}
		})
	}
}
