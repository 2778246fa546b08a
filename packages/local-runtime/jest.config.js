module.exports = require('./jest-project.js')('runtime', __dirname);
