// The value the "types" ack of examples/msgpack (TYPES in main.c, the same text) and of its
// Node twin (msgpack-server.mjs) answers with: integers of every msgpack width, floats,
// strings short and long, null, booleans, nested arrays and objects.
export const TYPES = '{"int":42,"neg":-7,"big":1099511627776,"neg64":-1099511627776,"u8":200,' +
  '"i16":-300,"u32":4000000000,"float":1.5,"negf":-0.25,"tiny":1e-7,' +
  '"str":"h\\u00e9llo w\\u00f6rld \\u2713","long":"abcdefghijklmnopqrstuvwxyz0123456789",' +
  '"nul":null,"t":true,"f":false,"arr":[1,[2,[3,[]]]],"obj":{"a":{"b":{"c":"d"}}},' +
  '"empty":{}}';
