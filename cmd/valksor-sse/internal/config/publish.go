package config

// Publish is how publishers over HTTP are let in.
type Publish struct {
	// Token is the bearer token for publishing; "" means generate one on
	// first start (key publish_token, default "").
	Token string
	// TokenFile stores the generated token (key token_file, default
	// "var/run/valksor-sse.token").
	TokenFile string
	// Anonymous accepts publishing without a token (key
	// allow_anonymous_publish, default false).
	Anonymous bool
	// MaxBodyBytes bounds a publish request body, >= 1 (key
	// max_body_bytes, default 1048576).
	MaxBodyBytes int64
}

func checkToken(c Config) string {
	if hasSpaceOrControl(c.Publish.Token) {
		return "must not contain spaces or control characters"
	}
	return ""
}
