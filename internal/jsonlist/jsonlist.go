// Package jsonlist decodes the JSON shape "a string or an array of strings",
// which publish bodies and token claims accept for lists.
package jsonlist

import "encoding/json"

// Decode returns b as a list: a JSON string is a list of one, an array of
// strings is itself. ok is false for anything else.
func Decode(b []byte) (list []string, ok bool) {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		return []string{one}, true
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return nil, false
	}
	return many, true
}
