package sse

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Authorizer decides who may open streams and publish. A hub without one
// lets anyone subscribe and publishers use the static token; with one, every
// stream and publish request goes through it (package jwt has an
// implementation). Implementations must be safe for concurrent use.
type Authorizer interface {
	// AuthorizeSubscribe checks a stream request for topics. It returns the
	// grant the stream holds, or an error: an *AuthError (or an error
	// wrapping ErrUnauthorized or ErrForbidden) is answered 401 or 403.
	AuthorizeSubscribe(r *http.Request, topics []string) (Grant, error)
	// AuthorizePublish checks a publish request for e (its topics and
	// privacy). Errors are answered as for AuthorizeSubscribe.
	AuthorizePublish(r *http.Request, e Event) error
}

// Grant is what an authorized stream may see.
type Grant struct {
	// Private reports whether the stream may receive private events
	// published to topic. Nil means no private events.
	Private func(topic string) bool
	// Expires, when not zero, is when the stream's credentials expire: the
	// hub closes the stream then, and the client reconnects with fresh ones.
	Expires time.Time
}

// AuthError is a refused authentication or authorization, answered with the
// status of Err (ErrUnauthorized: 401, ErrForbidden: 403) and a
// WWW-Authenticate header in the form of RFC 6750.
type AuthError struct {
	// Err is ErrUnauthorized or ErrForbidden.
	Err error
	// Code is the RFC 6750 error code: "invalid_request", "invalid_token"
	// or "insufficient_scope".
	Code string
	// Description says what was wrong, for people.
	Description string
}

// Error returns the refusal as text: the sentinel and the description.
func (e *AuthError) Error() string {
	return fmt.Sprintf("%v: %s", e.Err, e.Description)
}

// Unwrap returns Err.
func (e *AuthError) Unwrap() error { return e.Err }

// wwwAuthenticate is the challenge sent with a 401 or 403 for err.
func wwwAuthenticate(err error) string {
	var ae *AuthError
	if errors.As(err, &ae) && ae.Code != "" {
		return fmt.Sprintf(`Bearer realm="valksor-sse", error=%q, error_description=%q`, ae.Code, ae.Description)
	}
	return `Bearer realm="valksor-sse"`
}

// WithAuthorizer makes every stream and publish request go through a. The
// static publish token (WithPublishToken) is still accepted for publishing.
func WithAuthorizer(a Authorizer) Option {
	return func(o *options) error {
		if a == nil {
			return fmt.Errorf("sse: WithAuthorizer: nil authorizer")
		}
		o.authorizer = a
		return nil
	}
}

// sees reports whether a stream holding g receives m.
func (g *Grant) sees(m *Message) bool {
	if !m.Private {
		return true
	}
	if g == nil || g.Private == nil {
		return false
	}
	for _, t := range m.Topics {
		if g.Private(t) {
			return true
		}
	}
	return false
}
