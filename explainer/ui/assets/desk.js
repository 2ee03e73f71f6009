// Keeps this browser's desk in a cookie (the page reads it when a session starts, so a reload, a
// closed and reopened tab and a restarted server all find the same desk). Draws nothing and sends
// nothing back: writing the cookie never makes the page run again.
export default function (component) {
  const { data } = component;
  if (!data || !data.cookie || !data.value) return;
  const wanted = `${data.cookie}=${data.value}`;
  if (document.cookie.split("; ").includes(wanted)) return;
  document.cookie = `${wanted}; Max-Age=${data.max_age}; Path=/; SameSite=Strict`;
}
