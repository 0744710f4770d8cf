package mercure

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/jwt"
)

// Where tokens are read from, besides the Authorization header.
const (
	// CookieName is the cookie of the widely deployed draft.
	CookieName = "mercureAuthorization"
	// AccessTokenCookie is the cookie name the current protocol recommends.
	AccessTokenCookie = "__Secure-mercure_access_token"
	// QueryParam is the query parameter of the widely deployed hub.
	QueryParam = "authorization"
	// AccessTokenParam is the RFC 6750 query parameter of the July 2026
	// draft. The current protocol forbids tokens in URLs; it is still read
	// for clients of that draft.
	AccessTokenParam = "access_token"
)

// cookieNames are the cookies a token is read from, in this order: the
// widely deployed draft's, the current protocol's, and the July 2026
// draft's (with and without its __Secure- prefix).
var cookieNames = []string{CookieName, AccessTokenCookie, "__Secure-mercureAccessToken", "mercureAccessToken"}

// DetailType is the type of the RFC 9396 authorization details that grant
// Mercure rights in the current protocol: a URI, as RFC 9396 section 2.1
// recommends.
const DetailType = "https://mercure.rocks/authorization-detail"

// detailTypeDraft0713 is the detail type of the July 2026 draft and of the
// reference hub's first at+jwt release.
const detailTypeDraft0713 = "mercure"

// Token limits, the reference hub's: the Mercure authorization details of
// a token and the topic matchers they hold together (each may be a URL
// pattern to compile), and the selectors of each list of a mercure claim.
// A token over a limit is invalid.
const (
	maxDetails       = 100
	maxDetailTopics  = 100
	maxClaimMatchers = 1000
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
// Bearer scheme, else the access_token or authorization parameter of q (the
// request's query),
// else the first of cookieNames present. An Authorization header with
// another scheme (Basic, from a password-protected staging site) is
// ignored.
func requestToken(r *http.Request, q url.Values) (string, tokenSource) {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if tok = strings.TrimSpace(tok); tok != "" {
			return tok, fromHeader
		}
	}
	for _, p := range []string{AccessTokenParam, QueryParam} {
		if tok := q.Get(p); tok != "" {
			return tok, fromQuery
		}
	}
	for _, name := range cookieNames {
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
	// payload is the payload of the authorization detail or mercure claim
	// entry the rule comes from; nil when it has none.
	payload json.RawMessage
}

// access is what a verified token allows.
type access struct {
	// modern is true for rights read from authorization_details.
	modern bool
	// publishClaim is true when a mercure claim has publish, even empty
	// (public updates to any topic).
	publishClaim bool
	rules        []rule
	// payload is mercure.payload, the fallback of the claim's entries.
	payload json.RawMessage
	expires time.Time
}

// mayPublish checks the token against an update's topics. It returns a
// description of the refusal, or "".
func (a *access) mayPublish(topics []string, private bool) string {
	if !a.modern {
		if !a.publishClaim {
			return "the token grants no publish right: it has no Mercure authorization detail with the publish action, nor a mercure.publish claim"
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
// selector: that of the first subscribe grant whose selector matches the
// selector string, else mercure.payload.
func (a *access) payloadFor(selector string) json.RawMessage {
	if a == nil {
		return nil
	}
	for _, r := range a.rules {
		if r.subscribe && r.sel.Match(selector) {
			if r.payload != nil {
				return r.payload
			}
			break
		}
	}
	return a.payload
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
//
// Rights come from the authorization_details claim when the token has one
// (a non-empty array), else from the mercure claim (or its namespaced
// spelling "https://mercure.rocks/"), whatever the token's typ: the
// reference hub reads tokens of both generations the same way when it
// accepts both. An RFC 9068 access token (typ at+jwt) must carry exp, and
// the configured iss and aud.
func (v *verifier) verify(ctx context.Context, token string, role jwt.Role, base string) (*access, error) {
	c, err := v.auth.ParseRegistered(ctx, token, role)
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
		Mercure    json.RawMessage `json:"mercure"`
		Namespaced json.RawMessage `json:"https://mercure.rocks/"`
		Details    json.RawMessage `json:"authorization_details"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, invalidToken("the token's claims are malformed: %v", err)
	}
	a := &access{}
	if c.ExpiresAt != nil {
		a.expires = c.ExpiresAt.Time
	}
	if isAccessTokenType(hdr.Typ) {
		if c.ExpiresAt == nil {
			return nil, invalidToken("an at+jwt access token must carry exp")
		}
		if v.audience != "" && !slices.Contains([]string(c.Audience), v.audience) {
			return nil, invalidToken("the token's aud does not name this hub (%s)", quote(v.audience))
		}
		if v.issuer != "" && c.Issuer != v.issuer {
			return nil, invalidToken("the token's iss is %s; this hub accepts %s", quote(c.Issuer), quote(v.issuer))
		}
	}
	var details []json.RawMessage
	if len(claims.Details) > 0 && string(claims.Details) != "null" {
		if err := json.Unmarshal(claims.Details, &details); err != nil {
			return nil, invalidToken("authorization_details must be an array of objects")
		}
	}
	if len(details) > 0 {
		a.modern = true
		if err := v.parseDetails(a, details, base); err != nil {
			return nil, err
		}
		return a, nil
	}
	m := claims.Mercure
	if len(claims.Namespaced) > 0 && string(claims.Namespaced) != "null" {
		m = claims.Namespaced
	}
	if len(m) > 0 && string(m) != "null" {
		if err := v.parseClaim(a, m, base); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// isAccessTokenType reports whether typ is RFC 9068's at+jwt.
func isAccessTokenType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == "at+jwt" || typ == "application/at+jwt"
}

// parseClaim reads the mercure claim of the widely deployed draft:
// {"publish": [...], "subscribe": [...], "payload": ...}, whose entries are
// topic selectors (strings) or, as the reference hub also accepts,
// {"match", "match_type", "payload"} objects.
func (v *verifier) parseClaim(a *access, raw json.RawMessage, base string) error {
	var m struct {
		Publish   json.RawMessage `json:"publish"`
		Subscribe json.RawMessage `json:"subscribe"`
		Payload   json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || !isObject(raw) {
		return invalidToken("the mercure claim must be an object with publish, subscribe and payload")
	}
	if m.Payload != nil && string(m.Payload) != "null" {
		a.payload = m.Payload
	}
	a.publishClaim = m.Publish != nil
	if err := v.addClaimRules(a, "publish", m.Publish, base); err != nil {
		return err
	}
	return v.addClaimRules(a, "subscribe", m.Subscribe, base)
}

// addClaimRules adds the rules of mercure.publish or mercure.subscribe.
func (v *verifier) addClaimRules(a *access, name string, raw json.RawMessage, base string) error {
	if raw == nil {
		return nil
	}
	if string(raw) == "null" {
		return invalidToken("mercure.%s must be an array, not null", name)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		var one string
		if json.Unmarshal(raw, &one) != nil {
			return invalidToken("mercure.%s must be an array of topic selectors", name)
		}
		entries = []json.RawMessage{raw} // a single selector
	}
	if len(entries) > maxClaimMatchers {
		return invalidToken("mercure.%s lists over %d selectors", name, maxClaimMatchers)
	}
	for i, e := range entries {
		r := rule{publish: name == "publish", subscribe: name == "subscribe"}
		var sel string
		var err error
		if json.Unmarshal(e, &sel) == nil {
			r.sel, err = v.cache.get(MatchTopic, sel, base)
		} else {
			var tm topicMatcher
			if tm, err = decodeTopicMatcher(e, false); err != nil {
				return invalidToken("mercure.%s[%d] %v", name, i, err)
			}
			r.sel, err = v.cache.get(tm.typ, tm.match, base)
			r.payload = tm.payload
		}
		if err != nil {
			return invalidToken("mercure.%s[%d]: %v", name, i, err)
		}
		a.rules = append(a.rules, r)
	}
	return nil
}

// parseDetails reads authorization_details strictly, as the reference hub
// does: entries of other types are ignored; a defect in any Mercure detail
// (of the current protocol's type or the July 2026 draft's "mercure")
// refuses the whole token, and so do more details or topic matchers than
// the limits.
func (v *verifier) parseDetails(a *access, details []json.RawMessage, base string) error {
	count, topics := 0, 0
	for i, d := range details {
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(d, &head); err != nil {
			return invalidToken("authorization_details[%d] is not a detail object with a string type", i)
		}
		draft0713 := head.Type == detailTypeDraft0713
		if head.Type != DetailType && !draft0713 {
			continue
		}
		if count++; count > maxDetails {
			return invalidToken("authorization_details has over %d Mercure details", maxDetails)
		}
		var detail struct {
			Actions []string          `json:"actions"`
			Topics  []json.RawMessage `json:"topics"`
			Payload json.RawMessage   `json:"payload"`
		}
		if err := json.Unmarshal(d, &detail); err != nil {
			return invalidToken("authorization_details[%d]: actions must be an array of strings and topics an array of objects", i)
		}
		var pub, sub bool
		for _, act := range detail.Actions {
			// Actions this hub does not know grant nothing (the protocol
			// reserves them for future extensions).
			pub = pub || act == "publish"
			sub = sub || act == "subscribe"
		}
		if len(detail.Actions) == 0 {
			return invalidToken("authorization_details[%d] has no actions", i)
		}
		if len(detail.Topics) == 0 {
			return invalidToken("authorization_details[%d] has no topics", i)
		}
		if topics += len(detail.Topics); topics > maxDetailTopics {
			return invalidToken("the Mercure authorization details hold over %d topic matchers", maxDetailTopics)
		}
		var payload json.RawMessage
		if sub && len(detail.Payload) > 0 && string(detail.Payload) != "null" {
			payload = detail.Payload
		}
		for j, t := range detail.Topics {
			tm, err := decodeTopicMatcher(t, draft0713)
			if err != nil {
				return invalidToken("authorization_details[%d].topics[%d] %v", i, j, err)
			}
			sel, err := v.cache.get(tm.typ, tm.match, base)
			if err != nil {
				return invalidToken("authorization_details[%d].topics[%d]: %v", i, j, err)
			}
			a.rules = append(a.rules, rule{sel: sel, publish: pub, subscribe: sub, payload: payload})
		}
	}
	return nil
}

// topicMatcher is an entry of a detail's topics (or an object entry of a
// mercure claim).
type topicMatcher struct {
	typ     MatchType
	match   string
	payload json.RawMessage
}

// decodeTopicMatcher reads {"match": "...", "match_type": "exact" |
// "urlpattern"}: match is required and not empty, match_type defaults to
// exact, and payload is kept. With draft0713 the July 2026 draft's
// {"matchType": "Exact" | "URLPattern"} is read too. The error completes
// "authorization_details[i].topics[j] ...".
func decodeTopicMatcher(raw json.RawMessage, draft0713 bool) (topicMatcher, error) {
	var m struct {
		Match     *string         `json:"match"`
		MatchType *string         `json:"match_type"`
		CamelType *string         `json:"matchType"`
		Payload   json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(raw, &m); err != nil || !isObject(raw) {
		return topicMatcher{}, errors.New(`must be an object such as {"match": "https://example.com/books/:id", "match_type": "urlpattern"}`)
	}
	if m.Match == nil || *m.Match == "" {
		return topicMatcher{}, errors.New(`has no "match": every topic matcher needs one`)
	}
	tm := topicMatcher{typ: MatchExact, match: *m.Match}
	if m.Payload != nil && string(m.Payload) != "null" {
		tm.payload = m.Payload
	}
	name, camel := m.MatchType, false
	if draft0713 && m.CamelType != nil {
		if name != nil {
			return topicMatcher{}, errors.New(`has both "match_type" and "matchType"; give one`)
		}
		name, camel = m.CamelType, true
	}
	if name != nil {
		t, ok := matchTypeNamed(*name, camel)
		if !ok {
			return topicMatcher{}, fmt.Errorf("has the unknown matcher type %s; want exact or urlpattern", quote(*name))
		}
		tm.typ = t
	}
	return tm, nil
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
