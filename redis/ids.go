package redis

import (
	"context"
	"errors"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// publishScript adds an entry that carries a publisher-chosen id, keeping
// that id unique within the stream. In one atomic step it refuses the id
// when the id index (a hash, KEYS[2]) maps it to an entry still in the
// stream (KEYS[1]), adds and trims the entry as XADD does, records the id,
// and, when the index has grown to more than twice the stream, drops the
// ids whose entries were trimmed.
//
// ARGV: the id, the trim strategy ("MAXLEN", "MINID" or ""), "~" or "=",
// the threshold, then the entry's field-value pairs.
var publishScript = goredis.NewScript(`
local id = ARGV[1]
local sid = redis.call('HGET', KEYS[2], id)
if sid and #redis.call('XRANGE', KEYS[1], sid, sid) > 0 then
	return redis.error_reply('DUPID ' .. sid)
end
local args = {'XADD', KEYS[1]}
if ARGV[2] ~= '' then
	table.insert(args, ARGV[2])
	table.insert(args, ARGV[3])
	table.insert(args, ARGV[4])
end
table.insert(args, '*')
for i = 5, #ARGV do
	table.insert(args, ARGV[i])
end
local new = redis.call(unpack(args))
redis.call('HSET', KEYS[2], id, new)
local n = redis.call('HLEN', KEYS[2])
if n > 2 * redis.call('XLEN', KEYS[1]) + 64 then
	local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1][1]
	local fm, fs = string.match(first, '(%d+)-(%d+)')
	fm, fs = tonumber(fm), tonumber(fs)
	local all = redis.call('HGETALL', KEYS[2])
	for i = 1, #all, 2 do
		local m, s = string.match(all[i + 1], '(%d+)-(%d+)')
		m, s = tonumber(m), tonumber(s)
		if m < fm or (m == fm and s < fs) then
			redis.call('HDEL', KEYS[2], all[i])
		end
	end
end
return new
`)

// publishChosenID adds an entry whose publisher chose its id; see
// publishScript. It returns the new stream id.
func (t *Transport) publishChosenID(ctx context.Context, id string, values []any) (string, error) {
	args := make([]any, 0, 4+len(values))
	args = append(args, id)
	mode := "="
	if t.approx {
		mode = "~"
	}
	switch {
	case t.maxLen > 0:
		args = append(args, "MAXLEN", mode, t.maxLen)
	case t.maxAge > 0:
		args = append(args, "MINID", mode, t.minID())
	default:
		args = append(args, "", "", "")
	}
	args = append(args, values...)
	return publishScript.Run(ctx, t.client, []string{t.key, t.idsKey}, args...).Text()
}

// duplicateOf reports whether err is publishScript's refusal of an id, and
// the stream id of the entry that holds it.
func duplicateOf(err error) (string, bool) {
	var reply goredis.Error
	if err == nil || !errors.As(err, &reply) {
		return "", false
	}
	sid, ok := strings.CutPrefix(reply.Error(), "DUPID ")
	return sid, ok
}
