/* webinfer hook: perf.js */
