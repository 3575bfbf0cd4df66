/* webinfer hook: main.js */
