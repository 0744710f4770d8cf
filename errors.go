package sse

import (
	"errors"
	"net/http"
)

// Errors returned by the hub and transports. Callers test them with errors.Is;
// the returned errors wrap them with details.
var (
	// ErrHubClosed is returned by Broadcast after Shutdown.
	ErrHubClosed = errors.New("sse: hub is shut down")
	// ErrTransportClosed is returned by a Transport used after Close.
	ErrTransportClosed = errors.New("sse: transport is closed")
	// ErrTransportUnavailable means the transport cannot store events right
	// now (for example its server is unreachable). Nothing was published.
	ErrTransportUnavailable = errors.New("sse: transport unavailable")
	// ErrInvalidEvent means an event cannot be published as given.
	ErrInvalidEvent = errors.New("sse: invalid event")
	// ErrInvalidTopic means a topic name is malformed or not allowed.
	ErrInvalidTopic = errors.New("sse: invalid topic")
	// ErrInvalidLastEventID means a Last-Event-ID cannot be an event id.
	ErrInvalidLastEventID = errors.New("sse: invalid Last-Event-ID")
	// ErrTooManyConnections means the hub holds max_connections streams.
	ErrTooManyConnections = errors.New("sse: too many connections")
	// ErrUnauthorized means a request carried no valid credentials.
	ErrUnauthorized = errors.New("sse: unauthorized")
	// ErrForbidden means the credentials do not allow the request.
	ErrForbidden = errors.New("sse: forbidden")
	// ErrUnknownConnection means no open stream has the given connection id.
	ErrUnknownConnection = errors.New("sse: unknown connection")
	// ErrDuplicateID means an event was published with an id that an event
	// in the history already has: resuming from that id would be ambiguous.
	ErrDuplicateID = errors.New("sse: duplicate event id")
	// errBadRequest marks a malformed request body or parameter.
	errBadRequest = errors.New("sse: bad request")
	// errTooLarge marks a request body over the configured limit.
	errTooLarge = errors.New("sse: request body too large")
	// errUnsupportedMedia marks a publish body in an unknown format.
	errUnsupportedMedia = errors.New("sse: unsupported content type")
)

// httpStatus maps an error from this package to the status a client sees. It
// is the only place that decides this.
func httpStatus(err error) int {
	switch {
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errUnsupportedMedia):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, ErrInvalidEvent), errors.Is(err, ErrInvalidTopic),
		errors.Is(err, ErrInvalidLastEventID), errors.Is(err, errBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrUnknownConnection):
		return http.StatusNotFound
	case errors.Is(err, ErrDuplicateID):
		return http.StatusConflict
	case errors.Is(err, ErrTooManyConnections), errors.Is(err, ErrHubClosed),
		errors.Is(err, ErrTransportClosed), errors.Is(err, ErrTransportUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeError answers with err's status and its message as plain text.
func writeError(w http.ResponseWriter, err error) {
	status := httpStatus(err)
	h := w.Header()
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		h.Set("WWW-Authenticate", wwwAuthenticate(err))
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "2")
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(err.Error() + "\n"))
}
