package mercure_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	sse "github.com/valksor/go-sse"
	"github.com/valksor/go-sse/jwt"
	"github.com/valksor/go-sse/mercure"
)

// A hub serving both its own endpoint (/sse) and the Mercure protocol. A
// publisher posts an update the way Symfony's Mercure component does.
func Example() {
	hub, err := sse.New()
	if err != nil {
		log.Fatal(err)
	}
	key, err := jwt.LoadKey("!ChangeThisMercureHubJWTSecretKey!", "HS256") // MERCURE_JWT_SECRET
	if err != nil {
		log.Fatal(err)
	}
	m, err := mercure.New(hub, mercure.Config{PublisherKeys: []jwt.Key{key}, Anonymous: true})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	hub.Register(mux) // GET /sse, POST /sse/publish, ...
	m.Register(mux)   // GET and POST /.well-known/mercure
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A token with {"mercure": {"publish": ["*"]}}, signed with the key.
	signer, _ := jwt.NewSigner("HS256", []byte("!ChangeThisMercureHubJWTSecretKey!"))
	token, _ := signer.Sign(jwt.Claims{Mercure: &jwt.Scopes{Publish: jwt.Patterns{"*"}}})

	body := url.Values{"topic": {"https://example.com/books/1"}, "data": {`{"title": "Dune"}`}, "id": {"urn:uuid:1"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+mercure.Path, strings.NewReader(body.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	id, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, string(id))
	_ = hub.Shutdown(context.Background())
	// Output: 200 OK urn:uuid:1
}
