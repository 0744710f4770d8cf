package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"time"

	sse "github.com/valksor/go-sse"
)

var _ sse.Broadcaster = (*Publisher)(nil)

// ErrUnreachable means no server answered at the publisher's or subscriber's
// URL (connection refused, DNS failure, timeout).
var ErrUnreachable = errors.New("client: server unreachable")

// Error is a non-2xx answer from the server. It matches the sse package's
// sentinel errors with errors.Is: 401 is sse.ErrUnauthorized, 403
// sse.ErrForbidden, 400 sse.ErrInvalidEvent, 413 and 415 too,
// 503 sse.ErrTransportUnavailable.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is the server's explanation (the body, trimmed).
	Message string
}

// Error returns the status and the server's message.
func (e *Error) Error() string {
	return fmt.Sprintf("client: server answered %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Is maps the status to the sse package's sentinel errors.
func (e *Error) Is(target error) bool {
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return target == sse.ErrUnauthorized
	case http.StatusForbidden:
		return target == sse.ErrForbidden
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return target == sse.ErrInvalidEvent
	case http.StatusServiceUnavailable:
		return target == sse.ErrTransportUnavailable
	}
	return false
}

// Publisher publishes events to a remote hub. Its zero value is not usable:
// set URL. It is safe for concurrent use.
type Publisher struct {
	// URL is the hub's base URL, for example "http://localhost:8080/sse";
	// events are POSTed to URL + "/publish".
	URL string
	// Token is the publish token sent as "Authorization: Bearer <Token>".
	Token string
	// HTTPClient is used for requests; nil means a client with a 10 second
	// timeout.
	HTTPClient *http.Client
}

var defaultHTTPClient = &http.Client{Timeout: 10 * time.Second}

// Broadcast publishes e.
func (p *Publisher) Broadcast(ctx context.Context, e sse.Event) error {
	_, err := p.Publish(ctx, e)
	return err
}

// publishBody is the JSON the publish endpoint accepts.
type publishBody struct {
	ID     string          `json:"id,omitempty"`
	Type   string          `json:"type,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
	Topics []string        `json:"topics,omitempty"`
	Retry  int64           `json:"retry,omitempty"`
}

// Publish publishes e and returns the id the hub gave it. Errors are an
// *Error for an answer from the server, or wrap ErrUnreachable.
func (p *Publisher) Publish(ctx context.Context, e sse.Event) (string, error) {
	body := publishBody{ID: e.ID, Type: e.Type, Topics: e.Topics, Retry: e.Retry.Milliseconds()}
	var err error
	switch d := e.Data.(type) {
	case nil:
	case json.RawMessage:
		body.Data = d
	case []byte:
		body.Data, err = json.Marshal(string(d))
	default:
		body.Data, err = json.Marshal(d)
	}
	if err != nil {
		return "", fmt.Errorf("client: %w: data cannot be encoded as JSON: %v", sse.ErrInvalidEvent, err)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("client: encode event: %w", err)
	}
	url := strings.TrimSuffix(p.URL, "/") + "/publish"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("client: bad publisher URL %q: %w", p.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if p.Token != "" {
		req.Header.Set("Authorization", "Bearer "+p.Token)
	}
	hc := p.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", unreachable(p.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return "", &Error{StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(raw))}
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fmt.Errorf("client: the server at %s answered %d but not with an event id; is it a valksor-sse server?", p.URL, resp.StatusCode)
	}
	return out.ID, nil
}

// unreachable wraps a transport-level error with advice.
func unreachable(url string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	hint := ""
	if errors.Is(err, syscall.ECONNREFUSED) {
		hint = " (connection refused: is the server running? start it with `valksor-sse serve`)"
	}
	return fmt.Errorf("%w: %s%s: %w", ErrUnreachable, url, hint, err)
}
