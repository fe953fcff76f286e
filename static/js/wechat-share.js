// Inside WeChat only, when the official account is configured: the JS-SDK's share data, so
// that "send to chat" and "share to Moments" carry the page's title, description and image
// (its Open Graph tags) instead of a bare link. The SDK (self-hosted) is loaded only here;
// the page's signature comes from /wechat/jssdk-config/ (pages stay cacheable as they are).
(function () {
  var me = document.currentScript;
  if (!me || !/MicroMessenger/i.test(navigator.userAgent)) return;
  var meta = function (name) {
    var tag = document.querySelector('meta[property="' + name + '"]');
    return tag ? tag.getAttribute("content") : "";
  };
  var share = function () {
    var data = {
      title: meta("og:title") || document.title,
      desc: meta("og:description"),
      link: meta("og:url") || location.href.split("#")[0],
      imgUrl: meta("og:image"),
    };
    window.wx.updateAppMessageShareData(data);
    window.wx.updateTimelineShareData({ title: data.title, link: data.link, imgUrl: data.imgUrl });
  };
  var configure = function (config) {
    if (!window.wx || !config || !config.signature) return;
    window.wx.config({
      debug: false,
      appId: config.appId,
      timestamp: config.timestamp,
      nonceStr: config.nonceStr,
      signature: config.signature,
      jsApiList: config.jsApiList,
    });
    window.wx.ready(share);
  };
  var url = me.getAttribute("data-config") + "?url=" + encodeURIComponent(location.href.split("#")[0]);
  fetch(url, { credentials: "same-origin" })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (config) {
      if (!config) return;
      var sdk = document.createElement("script");
      sdk.src = me.getAttribute("data-sdk");
      sdk.onload = function () { configure(config); };
      document.head.appendChild(sdk);
    })
    .catch(function () { /* no share data: WeChat shows the link as it is */ });
})();
