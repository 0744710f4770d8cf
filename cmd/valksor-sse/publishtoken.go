package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/valksor/go-sse/cmd/valksor-sse/internal/config"
)

// The publish token is the static bearer token that POST /sse/publish
// wants. It lives here, for the server and for its clients:
//
//   - publish_token in the config, when set, is the token;
//   - else, unless anonymous publishing is allowed or the server accepts
//     publisher JWTs only, serve and dev read the token file (token_file),
//     which the first start creates with a fresh random token (mode 0600);
//   - publish, bench and the dashboard's hint read the same file, here or
//     in the directory of the valksor-sse listening on the configured port.

// jwtOnly reports whether a server with cfg accepts publisher JWTs only:
// it has publisher keys (or a JWKS), and no static publish token, so it
// writes no token file.
func jwtOnly(cfg config.Config) bool {
	return cfg.Publish.Token == "" && !cfg.Publish.Anonymous && (cfg.Auth.PublisherKey != "" || cfg.Auth.JWKSURL != "")
}

// serverPublishToken returns the token the server of cfg accepts, ""
// when it takes none: from the config, else from the token file, which is
// created with a fresh random token on first start. With JWT publisher
// keys and no publish_token, publishers use JWTs and no file is written.
func (m *Main) serverPublishToken(cfg config.Config, logger *slog.Logger) (string, error) {
	if cfg.Publish.Token != "" || cfg.Publish.Anonymous || jwtOnly(cfg) {
		return cfg.Publish.Token, nil
	}
	path := m.path(cfg.Publish.TokenFile)
	if tok, err := readTokenFile(path); err != nil || tok != "" {
		return tok, err
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("create the directory of the token file: %w", err)
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write the publish token file: %w", err)
	}
	logger.Info("generated a publish token", "file", path)
	return tok, nil
}

// readTokenFile returns the token in the file at path, "" when the file
// does not exist or is empty.
func readTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the publish token file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// clientPublishToken returns the static token a client of the server of
// cfg sends: publish_token, else the server's token file (see serverFile),
// with the file's path; "" when there is none.
func (m *Main) clientPublishToken(cfg config.Config) (token, file string) {
	if cfg.Publish.Token != "" {
		return cfg.Publish.Token, ""
	}
	file = m.serverFile(cfg, cfg.Publish.TokenFile)
	token, _ = readTokenFile(file)
	return token, file
}

// credential is what publish authenticates with, and what to tell the user
// when the server refuses it.
type credential struct {
	token string
	// refused says what the server refused, as the start of a sentence.
	refused string
	// advice says what to do about it.
	advice string
}

// publishCredential picks the token publish sends: --token; else the
// config's publish_token; else, when the server of the config accepts JWTs
// only, a short-lived publisher JWT signed with auth.publisher_key; else the
// token file, here or in the directory of the valksor-sse on the port.
func (m *Main) publishCredential(cfg config.Config, flagToken string, topics []string) (credential, error) {
	const useConfig = "run publish with the server's config (--config FILE), or pass --token"
	switch {
	case flagToken != "":
		return credential{flagToken, "the server refused the publish token given with --token",
			"pass the server's publish token (publish_token in its config, or its token file), or a publisher JWT it accepts, e.g. `valksor-sse token --publish '*'` run with the server's config"}, nil
	case cfg.Publish.Token != "":
		return credential{cfg.Publish.Token, "the server refused the publish token of the config (publish_token)",
			"the server runs with another publish_token: " + useConfig}, nil
	case jwtOnly(cfg):
		tok, err := m.publisherJWT(cfg, topics)
		if err != nil {
			return credential{}, err
		}
		return credential{tok, "the server refused the publisher JWT signed with auth.publisher_key",
			"the server verifies tokens with other keys: " + useConfig}, nil
	}
	if tok, path := m.clientPublishToken(cfg); tok != "" {
		return credential{tok, "the server refused the publish token in " + path,
			"that file belongs to another server, or the server now uses publish_token or JWT keys: " + useConfig}, nil
	}
	path := m.serverFile(cfg, cfg.Publish.TokenFile)
	return credential{"", "the server wants a publish token, and none was found",
		fmt.Sprintf("publish_token is not set and there is no token file %s (here or in the directory of a valksor-sse listening on port %d); %s", path, cfg.Server.Port, useConfig)}, nil
}
