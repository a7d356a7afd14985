// `npm start`: the demo on http://127.0.0.1:3000 (PORT to change it).
'use strict';
const { createApp } = require('./app');

const port = Number(process.env.PORT || 3000);
const server = createApp().listen(port, '127.0.0.1', () => {
  console.log(`wsstack demo: http://127.0.0.1:${server.address().port}`);
});
