// Auto-refresh the incidents list while the box is ticked (remembered per browser).
(function () {
  var box = document.getElementById("autorefresh");
  if (!box) return;
  box.checked = localStorage.getItem("opsloop.autorefresh") !== "off";
  box.addEventListener("change", function () {
    localStorage.setItem("opsloop.autorefresh", box.checked ? "on" : "off");
  });
  setInterval(function () {
    if (box.checked && !document.hidden) location.reload();
  }, 15000);
})();
