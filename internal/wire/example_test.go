package wire_test

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/valksor/go-sse/internal/wire"
)

func ExampleAppendEvent() {
	buf, err := wire.AppendEvent(nil, wire.Event{
		ID:    "42",
		Type:  "update",
		Data:  "line one\nline two",
		Retry: 3 * time.Second,
	})
	if err != nil {
		panic(err)
	}
	fmt.Print(string(buf))
	// Output:
	// id: 42
	// event: update
	// retry: 3000
	// data: line one
	// data: line two
}

func ExampleParser() {
	stream := ": hello\n\nid: 1\nevent: add\ndata: 73857293\n\ndata: a\ndata: b\n\nretry: 5000\n\ndata: incomplete"
	p := wire.NewParser(strings.NewReader(stream))
	for {
		e, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Printf("id=%q type=%q data=%q\n", e.ID, e.Type, e.Data)
	}
	fmt.Println("last id:", p.LastEventID(), "retry:", p.Retry())
	// Output:
	// id="1" type="add" data="73857293"
	// id="1" type="message" data="a\nb"
	// last id: 1 retry: 5s
}
