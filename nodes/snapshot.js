module.exports = require("../dist/src/nodes/snapshot.js");
