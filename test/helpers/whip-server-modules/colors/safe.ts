// `colors/safe` as simple-whip-server's server.js uses it (yellow, red and cyan headings on its console):
// plain text. The npm `colors` is here only under node-red-4's node-red-admin, not to be relied on.

const plain = (text: string): string => text;

export const yellow = plain;
export const red = plain;
export const cyan = plain;
