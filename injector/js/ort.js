/* webinfer hook: ort.js */
