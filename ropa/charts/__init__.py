"""
The register's pictures, drawn on the server as SVG.

``flows`` is where the data goes, as plain data (``ActivityFlow``) and as
pictures: ``picture`` draws data subjects → activity → recipients →
countries, ``world`` the map of transfers (on ``geometry``'s outlines).
``svg`` turns a matplotlib figure into SVG that a strict Content Security
Policy lets a page show inline (no ``style`` attribute or element, ids unique
on the page), whose text stays text: a screen reader reads the labels, a test
parses them, and the PDF export draws them as vector graphics with a text layer.
"""
