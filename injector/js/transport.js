/* webinfer hook: transport.js */
