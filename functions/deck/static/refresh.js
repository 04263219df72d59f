// Skiff deck: optional auto-refresh. The page works without it; this only
// reloads it every 30 s while the box is ticked (remembered per browser),
// the tab is visible and nobody is typing in a form field.
(function () {
  var box = document.getElementById("refresh");
  if (!box) return;
  var input = box.querySelector("input");
  var key = "skiff-deck-refresh";
  var saved = null;
  try { saved = localStorage.getItem(key); } catch (e) {}
  input.checked = saved !== "off";
  box.hidden = false;
  input.addEventListener("change", function () {
    try { localStorage.setItem(key, input.checked ? "on" : "off"); } catch (e) {}
  });
  setInterval(function () {
    var typing = document.activeElement && /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName) && document.activeElement !== input;
    if (input.checked && !document.hidden && !typing) location.reload();
  }, 30000);
})();
