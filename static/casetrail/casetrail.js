// Behaviour for every page, kept out of the HTML: the Content-Security-Policy allows no inline script.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
