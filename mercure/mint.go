package mercure

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// AccessToken describes an access token of the current protocol (an RFC
// 9068 at+jwt with RFC 9396 authorization details), for publishers and
// tools that mint their own. Claims returns what to sign, for example with
// jwt.Signer.SignAccessToken.
type AccessToken struct {
	// Publish and Subscribe are the topic patterns of the two rights; "*"
	// is every topic.
	Publish, Subscribe []string
	// MatchType says how the patterns match topics: MatchExact (also the
	// zero value) or MatchURLPattern.
	MatchType MatchType
	// Issuer, Subject, ClientID and Audience are the iss, sub, client_id
	// and aud claims; aud is left out when empty (a hub with
	// Config.Audience requires it).
	Issuer, Subject, ClientID, Audience string
	// IssuedAt and TTL give iat and exp.
	IssuedAt time.Time
	TTL      time.Duration
}

// Claims checks the patterns and returns the claims of t: iss, sub,
// client_id, a random jti, iat, exp, aud, and one authorization detail per
// right whose topics are the patterns. An invalid pattern or match type is
// an error naming it.
func (t AccessToken) Claims() (map[string]any, error) {
	typ := t.MatchType
	if typ == "" {
		typ = MatchExact
	}
	if typ != MatchExact && typ != MatchURLPattern {
		return nil, fmt.Errorf("mercure: match type %q: want %s or %s", t.MatchType, MatchExact, MatchURLPattern)
	}
	topics := func(patterns []string) ([]map[string]string, error) {
		out := make([]map[string]string, 0, len(patterns))
		for _, p := range patterns {
			if _, err := NewSelector(typ, p, "https://hub.invalid"+Path); err != nil {
				return nil, fmt.Errorf("mercure: pattern %q: %w", p, err)
			}
			m := map[string]string{"match": p}
			if p != "*" && typ != MatchExact {
				m["match_type"] = string(typ)
			}
			out = append(out, m)
		}
		return out, nil
	}
	var details []map[string]any
	for _, right := range []struct {
		action   string
		patterns []string
	}{{"publish", t.Publish}, {"subscribe", t.Subscribe}} {
		if len(right.patterns) == 0 {
			continue
		}
		ts, err := topics(right.patterns)
		if err != nil {
			return nil, err
		}
		details = append(details, map[string]any{"type": DetailType, "actions": []string{right.action}, "topics": ts})
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	claims := map[string]any{
		"iss": t.Issuer, "sub": t.Subject, "client_id": t.ClientID, "jti": hex.EncodeToString(jti[:]),
		"iat": t.IssuedAt.Unix(), "exp": t.IssuedAt.Add(t.TTL).Unix(),
		"authorization_details": details,
	}
	if t.Audience != "" {
		claims["aud"] = t.Audience
	}
	return claims, nil
}
