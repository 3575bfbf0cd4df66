/* webinfer hook: core.js */
