package config

// TLS is the certificate served over HTTPS and HTTP/2 (the tls block).
type TLS struct {
	// Cert is the PEM certificate chain (key tls.cert); with Key, or
	// neither.
	Cert string
	// Key is the private key file of Cert (key tls.key).
	Key string
}

// checkTLS wants tls.cert and tls.key together.
func checkTLS(c Config) string {
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return "tls.cert and tls.key (ssl_cert_path and ssl_key_path in the Symfony bundle's names) go together: set both, or neither"
	}
	return ""
}
