package sse

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valksor/go-sse/internal/jsonlist"
)

// servePublish handles POST base/publish: authenticate, decode, publish,
// answer {"id": "..."}. A reload or css-update without data carries
// {"files":[]} (see Event.Data). A "timestamp" field (a number, or a string holding
// one, as the PHP component's publisher sends) is accepted and ignored.
func (h *Hub) servePublish(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "publish with POST", http.StatusMethodNotAllowed)
		return
	}
	staticErr := h.authorizePublish(r)
	if staticErr != nil && h.opts.authorizer == nil {
		writeError(w, staticErr)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.maxBodyBytes)
	e, err := decodePublish(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			err = fmt.Errorf("%w: the body is over the limit of %d bytes; send a smaller event or raise max_body_bytes", errTooLarge, tooBig.Limit)
		}
		writeError(w, err)
		return
	}
	if staticErr != nil {
		// Not the static token: the Authorizer decides, seeing the event.
		if err := h.opts.authorizer.AuthorizePublish(r, e); err != nil {
			writeError(w, err)
			return
		}
	}
	id, err := h.Publish(r.Context(), e)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// authorizePublish checks the bearer token of a publish request.
func (h *Hub) authorizePublish(r *http.Request) error {
	if h.opts.anonPublish {
		return nil
	}
	if len(h.opts.publishTokens) == 0 && h.opts.authorizer != nil {
		return fmt.Errorf("%w: no static publish token", ErrUnauthorized)
	}
	if len(h.opts.publishTokens) == 0 {
		return fmt.Errorf("%w: publishing over HTTP is disabled because no publish token is configured", ErrForbidden)
	}
	return h.checkPublishToken(r)
}

// checkPublishToken checks that r carries one of the static publish tokens
// as a bearer token.
func (h *Hub) checkPublishToken(r *http.Request) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return fmt.Errorf("%w: missing Authorization header; send \"Authorization: Bearer <publish token>\"", ErrUnauthorized)
	}
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return fmt.Errorf("%w: the Authorization header must be \"Bearer <publish token>\"", ErrUnauthorized)
	}
	token = strings.TrimSpace(token)
	for _, want := range h.opts.publishTokens {
		if subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1 {
			return nil
		}
	}
	return fmt.Errorf("%w: the publish token is wrong; use the token from the server's config or token file", ErrUnauthorized)
}

// publishRequest is the JSON form of a publish body.
type publishRequest struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Data    json.RawMessage `json:"data"`
	Topic   topicList       `json:"topic"`
	Topics  []string        `json:"topics"`
	Retry   *int64          `json:"retry"`
	Private bool            `json:"private"`
	// Timestamp is accepted and ignored, for compatibility with publishers
	// written for the PHP component, whose events carry one.
	Timestamp timestamp `json:"timestamp"`
}

// timestamp accepts a number or a string holding one (or null) and keeps
// nothing: the hub orders events itself.
type timestamp struct{}

// UnmarshalJSON checks that b is a number, a string holding one, or null.
func (timestamp) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
	}
	if !isNumber(s) {
		return fmt.Errorf("timestamp must be a number (unix seconds), got %.40s", b)
	}
	return nil
}

// isNumber reports whether s is a finite decimal number.
func isNumber(s string) bool {
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && !strings.ContainsAny(s, "xXpP_")
}

// topicList accepts a string or an array of strings.
type topicList []string

func (t *topicList) UnmarshalJSON(b []byte) error {
	list, ok := jsonlist.Decode(b)
	if !ok {
		return fmt.Errorf("topic must be a string or an array of strings")
	}
	*t = list
	return nil
}

// decodePublish reads a publish body: JSON, or a URL-encoded or multipart
// form with the fields type, data, id, topic (repeatable), retry (ms),
// private and timestamp (checked, then ignored).
func decodePublish(r *http.Request) (Event, error) {
	ct := r.Header.Get("Content-Type")
	media := ""
	if ct != "" {
		var err error
		media, _, err = mime.ParseMediaType(ct)
		if err != nil {
			return Event{}, fmt.Errorf("%w: malformed Content-Type %q", errBadRequest, ct)
		}
	}
	switch media {
	case "application/json":
		return decodePublishJSON(r.Body)
	case "application/x-www-form-urlencoded", "multipart/form-data":
		return decodePublishForm(r)
	case "":
		return Event{}, fmt.Errorf("%w: missing Content-Type; send JSON ({\"type\": \"...\", \"data\": ...}) or a form (type=...&data=...)", errUnsupportedMedia)
	}
	return Event{}, fmt.Errorf("%w: %q; send application/json or a form", errUnsupportedMedia, media)
}

// publishFields are the fields of a publish body, JSON or form.
const publishFields = "id, type, data, topic, topics, retry, private and timestamp"

func decodePublishJSON(body io.Reader) (Event, error) {
	raw, err := exactFields(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return Event{}, err
		}
		return Event{}, fmt.Errorf("%w: publish body is not a valid event object: %v", errBadRequest, err)
	}
	var req publishRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return Event{}, fmt.Errorf("%w: publish body is not a valid event object: %v", errBadRequest, err)
	}
	e := Event{ID: req.ID, Type: req.Type, Topics: append([]string(req.Topic), req.Topics...), Private: req.Private}
	if req.Retry != nil {
		if *req.Retry < 0 {
			return Event{}, fmt.Errorf("%w: retry must be a non-negative number of milliseconds", ErrInvalidEvent)
		}
		e.Retry = time.Duration(*req.Retry) * time.Millisecond
	}
	if len(req.Data) > 0 && !bytes.Equal(req.Data, []byte("null")) {
		var s string
		if req.Data[0] == '"' && json.Unmarshal(req.Data, &s) == nil {
			e.Data = s
		} else {
			var compact bytes.Buffer
			if err := json.Compact(&compact, req.Data); err != nil {
				return Event{}, fmt.Errorf("%w: data: %v", errBadRequest, err)
			}
			e.Data = compact.String()
		}
	}
	return e, nil
}

// exactFields reads one JSON object from body and returns it, checking what
// encoding/json lets pass: every key is one of publishFields spelled
// exactly (json matches "TYPE" to type), no key appears twice (json keeps the
// last), and nothing follows the object.
func exactFields(body io.Reader) (json.RawMessage, error) {
	dec := json.NewDecoder(body)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New(`empty body; send a JSON object such as {"type": "reload"}`)
		}
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, errors.New("data after the JSON object; send one object per request")
	}
	keys := json.NewDecoder(bytes.NewReader(raw))
	if tok, _ := keys.Token(); tok != json.Delim('{') {
		return nil, fmt.Errorf("want a JSON object, got %.20s", raw)
	}
	seen := make(map[string]bool, 8)
	for keys.More() {
		tok, err := keys.Token()
		if err != nil {
			return nil, err
		}
		k := tok.(string) // an object's keys are strings
		if !slices.Contains(publishKeys, k) {
			return nil, fmt.Errorf("unknown field %q; the fields are %s (lower case)", k, publishFields)
		}
		if seen[k] {
			return nil, fmt.Errorf("field %q appears twice", k)
		}
		seen[k] = true
		var skip json.RawMessage
		if err := keys.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return raw, nil
}

// publishKeys are the JSON keys of publishRequest.
var publishKeys = []string{"id", "type", "data", "topic", "topics", "retry", "private", "timestamp"}

// formFields are the fields of a form publish; topic may repeat.
var formFields = []string{"id", "type", "data", "topic", "retry", "private", "timestamp"}

// maxFormValue bounds one multipart field; the body limit bounds them all.
const maxFormValue = 1 << 20

// decodePublishForm reads a URL-encoded or multipart form with only the
// documented fields. A multipart form is read part by part, with no file
// parts and nothing written to disk.
func decodePublishForm(r *http.Request) (Event, error) {
	f, err := readForm(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return Event{}, err
		}
		return Event{}, fmt.Errorf("%w: malformed form body: %v", errBadRequest, err)
	}
	for k := range f {
		if !slices.Contains(formFields, k) {
			return Event{}, fmt.Errorf("%w: unknown form field %q; the fields are id, type, data, topic, retry, private and timestamp", errBadRequest, k)
		}
	}
	e := Event{ID: f.Get("id"), Type: f.Get("type"), Topics: f["topic"]}
	switch v := f.Get("private"); v {
	case "", "0", "false", "off":
	case "1", "true", "on":
		e.Private = true
	default:
		return Event{}, fmt.Errorf("%w: private %q must be true or false", errBadRequest, v)
	}
	if d, ok := f["data"]; ok {
		e.Data = strings.Join(d, "\n")
	}
	if v, ok := f["timestamp"]; ok {
		if !isNumber(strings.TrimSpace(v[0])) {
			return Event{}, fmt.Errorf("%w: timestamp %.40q must be a number (unix seconds)", errBadRequest, v[0])
		}
	}
	if v := f.Get("retry"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			return Event{}, fmt.Errorf("%w: retry %q must be a non-negative number of milliseconds", ErrInvalidEvent, v)
		}
		e.Retry = time.Duration(ms) * time.Millisecond
	}
	return e, nil
}

// readForm returns the fields of a URL-encoded or multipart body.
func readForm(r *http.Request) (url.Values, error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		return url.ParseQuery(string(b))
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, err
	}
	f := url.Values{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return nil, err
		}
		if p.FileName() != "" {
			return nil, fmt.Errorf("part %q is a file (%q); the publish form takes text fields only", p.FormName(), p.FileName())
		}
		if p.FormName() == "" {
			return nil, errors.New("a part has no field name")
		}
		v, err := io.ReadAll(io.LimitReader(p, maxFormValue+1))
		if err != nil {
			return nil, err
		}
		if len(v) > maxFormValue {
			return nil, fmt.Errorf("field %q is over %d bytes", p.FormName(), maxFormValue)
		}
		f.Add(p.FormName(), string(v))
	}
}

// servePing handles POST base/ping: id=<connection id>[&nonce=...] queues a
// pong on that stream.
func (h *Hub) servePing(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "ping with POST", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	var req struct {
		ID    string `json:"id"`
		Nonce string `json:"nonce"`
	}
	if media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); media == "application/json" {
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeError(w, fmt.Errorf("%w: ping body must be {\"id\": \"<connection id>\"}: %v", errBadRequest, err))
			return
		}
	} else {
		if err := r.ParseForm(); err != nil {
			writeError(w, fmt.Errorf("%w: malformed ping form: %v", errBadRequest, err))
			return
		}
		req.ID, req.Nonce = r.Form.Get("id"), r.Form.Get("nonce")
	}
	if req.ID == "" {
		writeError(w, fmt.Errorf("%w: missing id; send the connection id from the connected event", errBadRequest))
		return
	}
	if len(req.Nonce) > 128 {
		writeError(w, fmt.Errorf("%w: nonce is longer than 128 bytes", errBadRequest))
		return
	}
	if err := h.Pong(req.ID, req.Nonce); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
