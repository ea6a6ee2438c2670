module.exports = require("../dist/src/nodes/whip-out.js");
