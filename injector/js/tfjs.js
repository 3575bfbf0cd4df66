/* webinfer hook: tfjs.js */
