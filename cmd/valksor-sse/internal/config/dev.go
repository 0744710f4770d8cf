package config

// Dev is the dev command's proxy (the dev block).
type Dev struct {
	// Proxy is the app the dev command proxies to (key dev.proxy).
	Proxy string
	// Listen is the dev proxy's address (key dev.listen).
	Listen string
	// Cmd is the app command the dev command runs and restarts (key dev.cmd).
	Cmd []string
	// Morph lets browsers of the dev proxy morph a changed page in place
	// instead of reloading it (key dev.morph, default true).
	Morph bool
}
