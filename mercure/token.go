package mercure

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/internal/jsonlist"
	"github.com/valksor/go-sse/jwt"
)

// Where tokens are read from, besides the Authorization header.
const (
	// CookieName is the cookie of the widely deployed draft.
	CookieName = "mercureAuthorization"
	// AccessTokenCookie is the cookie name the newer draft recommends.
	AccessTokenCookie = "mercureAccessToken"
	// QueryParam is the query parameter of the widely deployed hub.
	QueryParam = "authorization"
	// AccessTokenParam is the RFC 6750 query parameter of the newer draft.
	AccessTokenParam = "access_token"
)

// Token limits of the newer draft's authorization details.
const (
	maxDetails = 64
	maxTopics  = 128
)

// tokenSource tells where a request carried its token.
type tokenSource int

const (
	noToken tokenSource = iota
	fromHeader
	fromQuery
	fromCookie
)

// requestToken returns the token of r: the Authorization header with the
// Bearer scheme, else the access_token or authorization query parameter,
// else the mercureAuthorization or mercureAccessToken cookie. This order
// is the newer draft's and the widely deployed hub's. An Authorization
// header with another scheme (Basic, from a password-protected staging
// site) is ignored.
func requestToken(r *http.Request) (string, tokenSource) {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if tok = strings.TrimSpace(tok); tok != "" {
			return tok, fromHeader
		}
	}
	q := r.URL.Query()
	for _, p := range []string{AccessTokenParam, QueryParam} {
		if tok := q.Get(p); tok != "" {
			return tok, fromQuery
		}
	}
	for _, name := range []string{CookieName, AccessTokenCookie} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value, fromCookie
		}
	}
	return "", noToken
}

// rule is one grant of a token: a selector with the actions it allows.
type rule struct {
	sel       *Selector
	publish   bool
	subscribe bool
	payload   json.RawMessage // newer draft: payload of a subscribe detail
}

// access is what a verified token allows.
type access struct {
	// modern is true for at+jwt tokens with authorization details.
	modern bool
	// publishClaim is true when a widely deployed token has
	// mercure.publish, even empty (public updates to any topic).
	publishClaim bool
	rules        []rule
	// payload is mercure.payload of a widely deployed token.
	payload json.RawMessage
	expires time.Time
}

// mayPublish checks the token against an update's topics. It returns a
// description of the refusal, or "".
func (a *access) mayPublish(topics []string, private bool) string {
	if !a.modern {
		if !a.publishClaim {
			return "the token has no mercure.publish claim"
		}
		if !slices.ContainsFunc(a.rules, func(r rule) bool { return r.publish }) {
			if private {
				return "the token's mercure.publish claim is empty: it allows public updates only"
			}
			return ""
		}
	}
	for _, t := range topics {
		if !a.allows(t, true) {
			claim := "mercure.publish claim"
			if a.modern {
				claim = "authorization details"
			}
			return fmt.Sprintf("the token's %s do not allow publishing to topic %s", claim, quote(t))
		}
	}
	return ""
}

// maySubscribe reports whether the token lets its holder receive private
// updates for topic.
func (a *access) maySubscribe(topic string) bool { return a.allows(topic, false) }

func (a *access) allows(topic string, publish bool) bool {
	for _, r := range a.rules {
		if (publish && r.publish || !publish && r.subscribe) && r.sel.Match(topic) {
			return true
		}
	}
	return false
}

// payloadFor returns the payload attached to a subscription with the given
// selector: mercure.payload, or the payload of the first subscribe detail
// whose topics match the selector string.
func (a *access) payloadFor(selector string) json.RawMessage {
	if a == nil {
		return nil
	}
	if !a.modern {
		return a.payload
	}
	for _, r := range a.rules {
		if r.subscribe && r.sel.Match(selector) {
			return r.payload
		}
	}
	return nil
}

// verifier checks tokens: the signature, algorithm and time claims through
// package jwt, then the claims of either draft.
type verifier struct {
	auth     *jwt.Authorizer
	issuer   string
	audience string
	cache    selectorCache
}

// verify checks token as a token of role and returns what it allows. Every
// error is an *sse.AuthError: 401 invalid_token.
func (v *verifier) verify(ctx context.Context, token string, role jwt.Role, base string) (*access, error) {
	c, err := v.auth.Parse(ctx, token, role)
	if err != nil {
		return nil, err
	}
	// The signature is valid: the header and payload can be read as they are.
	parts := strings.Split(token, ".")
	var hdr struct {
		Typ string `json:"typ"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return nil, invalidToken("the token header cannot be read: %v", err)
	}
	var claims struct {
		Mercure *struct {
			Publish   *selectorList   `json:"publish"`
			Subscribe *selectorList   `json:"subscribe"`
			Payload   json.RawMessage `json:"payload"`
		} `json:"mercure"`
		Details json.RawMessage `json:"authorization_details"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, invalidToken("the token's claims are malformed: %v", err)
	}
	a := &access{}
	if c.ExpiresAt != nil {
		a.expires = c.ExpiresAt.Time
	}
	if !isAccessTokenType(hdr.Typ) {
		// The widely deployed draft: {"mercure": {"publish": [...], "subscribe": [...], "payload": ...}}.
		if m := claims.Mercure; m != nil {
			a.payload = m.Payload
			a.publishClaim = m.Publish != nil
			if err := v.addRules(a, m.Publish, true, base); err != nil {
				return nil, err
			}
			if err := v.addRules(a, m.Subscribe, false, base); err != nil {
				return nil, err
			}
		}
		return a, nil
	}
	// The newer draft: an RFC 9068 access token with RFC 9396 details.
	a.modern = true
	if c.ExpiresAt == nil {
		return nil, invalidToken("an at+jwt access token must carry exp")
	}
	if v.audience != "" && !slices.Contains([]string(c.Audience), v.audience) {
		return nil, invalidToken("the token's aud does not name this hub (%s)", quote(v.audience))
	}
	if v.issuer != "" && c.Issuer != v.issuer {
		return nil, invalidToken("the token's iss is %s; this hub accepts %s", quote(c.Issuer), quote(v.issuer))
	}
	if err := v.parseDetails(a, claims.Details, base); err != nil {
		return nil, err
	}
	return a, nil
}

// isAccessTokenType reports whether typ is RFC 9068's at+jwt.
func isAccessTokenType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == "at+jwt" || typ == "application/at+jwt"
}

// addRules adds the topic selectors of a mercure claim.
func (v *verifier) addRules(a *access, list *selectorList, publish bool, base string) error {
	if list == nil {
		return nil
	}
	if len(*list) > maxSelectors {
		return invalidToken("the mercure claim lists over %d selectors", maxSelectors)
	}
	for _, s := range *list {
		sel, err := v.cache.get(MatchTopic, s, base)
		if err != nil {
			return invalidToken("a selector of the mercure claim is invalid: %v", err)
		}
		a.rules = append(a.rules, rule{sel: sel, publish: publish, subscribe: !publish})
	}
	return nil
}

// parseDetails reads authorization_details strictly: any defect in a
// mercure detail refuses the whole token. Details of other types are
// ignored.
func (v *verifier) parseDetails(a *access, raw json.RawMessage, base string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var details []json.RawMessage
	if err := json.Unmarshal(raw, &details); err != nil {
		return invalidToken("authorization_details must be an array of objects")
	}
	if len(details) > maxDetails {
		return invalidToken("authorization_details has over %d entries", maxDetails)
	}
	for i, d := range details {
		var detail struct {
			Type    string            `json:"type"`
			Actions []string          `json:"actions"`
			Topics  []json.RawMessage `json:"topics"`
			Payload json.RawMessage   `json:"payload"`
		}
		if err := json.Unmarshal(d, &detail); err != nil || !isObject(d) {
			return invalidToken("authorization_details[%d] is not a detail object", i)
		}
		if detail.Type != "mercure" {
			continue
		}
		var pub, sub bool
		for _, act := range detail.Actions {
			switch act {
			case "publish":
				pub = true
			case "subscribe":
				sub = true
			default:
				return invalidToken("authorization_details[%d]: unknown action %s; want publish or subscribe", i, quote(act))
			}
		}
		if !pub && !sub {
			return invalidToken("authorization_details[%d] has no actions", i)
		}
		if len(detail.Topics) == 0 || len(detail.Topics) > maxTopics {
			return invalidToken("authorization_details[%d] must list 1 to %d topics", i, maxTopics)
		}
		if len(detail.Payload) > 0 && !isObject(detail.Payload) {
			return invalidToken("authorization_details[%d]: payload must be an object", i)
		}
		for j, t := range detail.Topics {
			var m struct {
				Match     *string `json:"match"`
				MatchType *string `json:"matchType"`
			}
			if err := json.Unmarshal(t, &m); err != nil || !isObject(t) || m.Match == nil {
				return invalidToken("authorization_details[%d].topics[%d] must be an object with a match string", i, j)
			}
			typ := MatchExact
			if m.MatchType != nil {
				typ = MatchType(*m.MatchType)
				if typ != MatchExact && typ != MatchURLPattern {
					return invalidToken("authorization_details[%d].topics[%d]: matchType must be Exact or URLPattern", i, j)
				}
			}
			sel, err := v.cache.get(typ, *m.Match, base)
			if err != nil {
				return invalidToken("authorization_details[%d].topics[%d]: %v", i, j, err)
			}
			var payload json.RawMessage
			if sub {
				payload = detail.Payload
			}
			a.rules = append(a.rules, rule{sel: sel, publish: pub, subscribe: sub, payload: payload})
		}
	}
	return nil
}

// selectorList is a list of selectors; a single string is a list of one.
type selectorList []string

// UnmarshalJSON accepts an array of strings or a string.
func (l *selectorList) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return errors.New("selectors must be an array of strings, not null")
	}
	list, ok := jsonlist.Decode(b)
	if !ok {
		return errors.New("selectors must be an array of strings")
	}
	*l = list
	return nil
}

// decodeSegment decodes one base64url part of a JWT into v.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func isObject(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

// invalidToken returns a 401 invalid_token refusal.
func invalidToken(format string, args ...any) error {
	return &sse.AuthError{Err: sse.ErrUnauthorized, Code: "invalid_token", Description: fmt.Sprintf(format, args...)}
}

// quote renders a value from a request for an error description: printable
// ASCII without quotes or backslashes, at most 100 bytes.
func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '\'' {
			r = '?'
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}
