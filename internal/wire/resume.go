package wire

// SetLastEventID sets the stream's last event ID, as a browser carries it
// over from the previous connection when it reconnects: events that arrive
// without an id field then report id. Call it before the first Next.
func (p *Parser) SetLastEventID(id string) {
	p.idBuf = id
	p.lastID = id
}
