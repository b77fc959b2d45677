'use strict';
// The export page's "Select all" box: the library wires it with an inline
// onchange attribute, which the Content-Security-Policy does not run.
document.addEventListener("DOMContentLoaded", () => {
    for (const toggle of document.querySelectorAll(".select-toggle")) {
        toggle.addEventListener("change", onSelectToggleChange);
    }
});
